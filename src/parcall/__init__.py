"""parcall: parallel function calling for language models.

A planner model writes a plan of tool calls whose arguments may name earlier results
(`$1`); each task starts as soon as its line is parsed and its inputs are ready; a joiner
answers or replans.
"""

from ._agent import Agent, RunStream
from ._approval import ApprovalRequest, Approve, PlannedCall, Reject
from ._context import RunContext
from ._errors import (
    ActionRejectedError,
    CyclicPlanError,
    DependencyFailedError,
    DryRunError,
    DuplicateTaskError,
    ForwardReferenceError,
    InvalidArgumentsError,
    JoinerOutputError,
    ParcallError,
    PlanError,
    PlanSyntaxError,
    PolicyDeniedError,
    ReplanLimitError,
    ScriptExhaustedError,
    ToolError,
    ToolsetError,
    ToolTimeoutError,
    TurnLimitError,
    UnknownReferenceError,
    UnknownToolError,
    UsageLimitExceeded,
)
from ._events import (
    AnswerDelta,
    Answered,
    Event,
    JoinDecided,
    ModelCallFinished,
    ModelCallStarted,
    PassApplied,
    PlanFinished,
    PolicyDenied,
    Replanned,
    TaskFailed,
    TaskFinished,
    TaskParsed,
    TaskStarted,
)
from ._extras import MissingExtraError
from ._history import Turn, TurnTask
from ._joiner import Finish, Replan, parse_decision
from ._json_check import StructuredDict
from ._limits import UsageLimits
from ._observation import Observation
from ._output import OutputValidationError
from ._parallel_calls import ParallelToolCallAgent
from ._parser import PlanParser, parse_plan
from ._pass import Call, Pass, PassContext, PassRun
from ._plan import Plan, Ref, Task, Template
from ._policy import Policy, PolicyCall, Sealed
from ._prompts import Example, Prompts
from ._provenance import Provenance, Source
from ._react import ReActAgent
from ._result import PlanErrorInfo, RunResult
from ._timing import TimeBreakdown
from ._tool import Tool, ToolDescriptionWarning, tool
from ._toolset import Toolset
from .models import (
    LlamaCpp,
    Message,
    Model,
    ModelError,
    ModelRequest,
    OpenAICompatible,
    ScriptedModel,
    Usage,
    resolve_model,
)

__version__ = "0.1.0"

__all__ = [
    "ActionRejectedError",
    "Agent",
    "AnswerDelta",
    "Answered",
    "ApprovalRequest",
    "Approve",
    "Call",
    "CyclicPlanError",
    "DependencyFailedError",
    "DryRunError",
    "DuplicateTaskError",
    "Event",
    "Example",
    "Finish",
    "ForwardReferenceError",
    "InvalidArgumentsError",
    "JoinDecided",
    "JoinerOutputError",
    "LlamaCpp",
    "Message",
    "MissingExtraError",
    "Model",
    "ModelCallFinished",
    "ModelCallStarted",
    "ModelError",
    "ModelRequest",
    "Observation",
    "OpenAICompatible",
    "OutputValidationError",
    "ParallelToolCallAgent",
    "ParcallError",
    "Pass",
    "PassApplied",
    "PassContext",
    "PassRun",
    "Plan",
    "PlanError",
    "PlanErrorInfo",
    "PlanFinished",
    "PlanParser",
    "PlanSyntaxError",
    "PlannedCall",
    "Policy",
    "PolicyCall",
    "PolicyDenied",
    "PolicyDeniedError",
    "Prompts",
    "Provenance",
    "ReActAgent",
    "Ref",
    "Reject",
    "Replan",
    "ReplanLimitError",
    "Replanned",
    "RunContext",
    "RunResult",
    "RunStream",
    "ScriptExhaustedError",
    "ScriptedModel",
    "Sealed",
    "Source",
    "StructuredDict",
    "Task",
    "TaskFailed",
    "TaskFinished",
    "TaskParsed",
    "TaskStarted",
    "Template",
    "TimeBreakdown",
    "Tool",
    "ToolDescriptionWarning",
    "ToolError",
    "ToolTimeoutError",
    "Toolset",
    "ToolsetError",
    "Turn",
    "TurnLimitError",
    "TurnTask",
    "UnknownReferenceError",
    "UnknownToolError",
    "Usage",
    "UsageLimitExceeded",
    "UsageLimits",
    "parse_decision",
    "parse_plan",
    "resolve_model",
    "tool",
]
