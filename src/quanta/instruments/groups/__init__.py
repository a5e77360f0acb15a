"""Group definition: exposure groups (such as flat pairs) by rule plugins or from files."""

from .define import GroupDefinitionError as GroupDefinitionError
from .define import GroupReport as GroupReport
from .define import GroupSystem as GroupSystem
from .define import define_groups as define_groups
from .define import define_groups_by_rule as define_groups_by_rule
from .define import define_groups_from_file as define_groups_from_file
from .rules import Group as Group
from .rules import Grouping as Grouping
from .rules import GroupRule as GroupRule
from .rules import LeftOut as LeftOut
from .rules import RuleSpec as RuleSpec
from .rules import known_rules as known_rules
from .rules import load_rule as load_rule
