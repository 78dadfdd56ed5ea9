"""Every microversion of the placement API, and the features they introduce.

Each feature has a named constant so that ``grep -rn CONSUMER_GENERATION``
finds every place whose behaviour depends on it. The list of versions below
is checked by a unit test to be sequential.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from functools import total_ordering

SERVICE_TYPE = "placement"
HEADER = "openstack-api-version"

# (minor, what it added). One line per microversion, in order.
VERSIONS: tuple[tuple[int, str], ...] = (
    (0, "initial API"),
    (1, "provider aggregates"),
    (2, "custom resource classes"),
    (3, "member_of filter on GET /resource_providers"),
    (4, "resources filter on GET /resource_providers"),
    (5, "DELETE all inventories of a provider"),
    (6, "traits"),
    (7, "PUT /resource_classes/{name} creates; rename removed"),
    (8, "project_id and user_id required in allocation writes"),
    (9, "GET /usages"),
    (10, "GET /allocation_candidates"),
    (11, "allocations link on providers"),
    (12, "dict-form allocation bodies; project/user in GET /allocations"),
    (13, "POST /allocations"),
    (14, "nested providers: parent and root uuids, in_tree"),
    (15, "Last-Modified and Cache-Control headers"),
    (16, "limit on allocation candidates"),
    (17, "required traits on allocation candidates"),
    (18, "required traits on GET /resource_providers"),
    (19, "provider generation on aggregates"),
    (20, "POST /resource_providers returns the provider"),
    (21, "member_of on allocation candidates"),
    (22, "forbidden traits"),
    (23, "error codes"),
    (24, "repeated member_of"),
    (25, "granular request groups and group_policy"),
    (26, "reserved may equal total"),
    (27, "all classes in provider summaries"),
    (28, "consumer generations"),
    (29, "nested allocation candidates"),
    (30, "reshaper"),
    (31, "in_tree on allocation candidates"),
    (32, "forbidden aggregates"),
    (33, "string suffixes for request groups"),
    (34, "mappings in allocation candidates"),
    (35, "root_required"),
    (36, "same_subtree and resourceless request groups"),
    (37, "re-parent and un-parent providers"),
    (38, "consumer types"),
    (39, "any-of traits (in:) and repeated required"),
)

MIN_MINOR = VERSIONS[0][0]
MAX_MINOR = VERSIONS[-1][0]


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def matches(self, feature: Version) -> bool:
        """True when this request version is at or above ``feature``."""
        return self >= feature


def _v(minor: int) -> Version:
    return Version(1, minor)


MIN_VERSION = _v(MIN_MINOR)
MAX_VERSION = _v(MAX_MINOR)

# Named features: the first version that has each behaviour.
AGGREGATES = _v(1)
RESOURCE_CLASSES = _v(2)
PROVIDER_MEMBER_OF = _v(3)
PROVIDER_RESOURCES_FILTER = _v(4)
DELETE_ALL_INVENTORIES = _v(5)
TRAITS = _v(6)
RESOURCE_CLASS_PUT_CREATES = _v(7)
ALLOCATION_PROJECT_USER = _v(8)
USAGES = _v(9)
ALLOCATION_CANDIDATES = _v(10)
PROVIDER_ALLOCATIONS_LINK = _v(11)
ALLOCATIONS_DICT_FORM = _v(12)
POST_ALLOCATIONS = _v(13)
NESTED_PROVIDERS = _v(14)
LAST_MODIFIED = _v(15)
CANDIDATES_LIMIT = _v(16)
CANDIDATES_REQUIRED = _v(17)
PROVIDER_REQUIRED = _v(18)
AGGREGATE_GENERATION = _v(19)
CREATE_RETURNS_PROVIDER = _v(20)
CANDIDATES_MEMBER_OF = _v(21)
FORBIDDEN_TRAITS = _v(22)
ERROR_CODES = _v(23)
MULTI_MEMBER_OF = _v(24)
GRANULAR_GROUPS = _v(25)
RESERVED_EQUALS_TOTAL = _v(26)
SUMMARIES_ALL_CLASSES = _v(27)
CONSUMER_GENERATION = _v(28)
NESTED_CANDIDATES = _v(29)
RESHAPER = _v(30)
CANDIDATES_IN_TREE = _v(31)
FORBIDDEN_AGGREGATES = _v(32)
STRING_SUFFIXES = _v(33)
CANDIDATE_MAPPINGS = _v(34)
ROOT_REQUIRED = _v(35)
SAME_SUBTREE = _v(36)
REPARENT_PROVIDERS = _v(37)
CONSUMER_TYPES = _v(38)
ANY_OF_TRAITS = _v(39)


class MicroversionError(Exception):
    """The header value is malformed (400) or out of range (406)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# The version as upstream's parser builds it: ``int`` of each side of the first
# dot into a two-field tuple. Building it the same way makes every failure
# read as upstream's does ("invalid literal for int() with base 10: 'x'",
# "Version.__new__() missing 1 required positional argument: 'minor'").
_Parsed = collections.namedtuple("Version", ["major", "minor"])  # type: ignore[name-match]


def parse_header_value(value: str | None) -> Version:
    """Turn the value of ``OpenStack-API-Version`` into a supported Version.

    ``value`` may list several services (``compute 2.1, placement 1.30``);
    only the ``placement`` entry counts. No entry means the minimum version.
    A malformed version is 400, one outside 1.0-1.39 is 406, both worded as
    upstream: ``Invalid microversion: ...``.
    """
    if not value:
        return MIN_VERSION
    wanted = None
    for part in value.split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == SERVICE_TYPE:
            wanted = words[1]
        elif len(words) == 1 and words[0].lower() == SERVICE_TYPE:
            raise MicroversionError(
                400, f"Invalid microversion: invalid version string: {part.strip()}"
            )
    if wanted is None:
        return MIN_VERSION
    return parse_version(wanted)


def parse_version(text: str) -> Version:
    if text.lower() == "latest":
        return MAX_VERSION
    try:
        parsed = _Parsed(*(int(side) for side in text.split(".", 1)))
    except (TypeError, ValueError) as error:
        raise MicroversionError(
            400, f"Invalid microversion: invalid version string: {text}; {error}"
        ) from None
    version = Version(parsed.major, parsed.minor)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise MicroversionError(406, f"Invalid microversion: Unacceptable version header: {text}")
    return version
