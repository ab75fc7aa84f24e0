"""parcall: parallel function calling for language models.

A planner model writes a plan of tool calls whose arguments may name earlier results
(`$1`); each task starts as soon as its line is parsed and its inputs are ready; a joiner
answers or replans.
"""

from ._agent import Agent, RunStream
from ._approval import ApprovalRequest, Approve, PlannedCall, Reject
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
    ReplanLimitError,
    ScriptExhaustedError,
    ToolError,
    ToolsetError,
    ToolTimeoutError,
    TurnLimitError,
    UnknownReferenceError,
    UnknownToolError,
)
from ._events import (
    Answered,
    Event,
    JoinDecided,
    ModelCallFinished,
    ModelCallStarted,
    PassApplied,
    PlanFinished,
    Replanned,
    TaskFailed,
    TaskFinished,
    TaskParsed,
    TaskStarted,
)
from ._extras import MissingExtraError
from ._joiner import Finish, Replan, parse_decision
from ._observation import Observation
from ._parallel_calls import ParallelToolCallAgent
from ._parser import PlanParser, parse_plan
from ._pass import Call, Pass, PassRun, RunContext
from ._plan import Plan, Ref, Task, Template
from ._prompts import Example, Prompts
from ._react import ReActAgent
from ._result import PlanErrorInfo, RunResult
from ._timing import TimeBreakdown
from ._tool import Tool, tool
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
    "ParallelToolCallAgent",
    "ParcallError",
    "Pass",
    "PassApplied",
    "PassRun",
    "Plan",
    "PlanError",
    "PlanErrorInfo",
    "PlanFinished",
    "PlanParser",
    "PlanSyntaxError",
    "PlannedCall",
    "Prompts",
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
    "Task",
    "TaskFailed",
    "TaskFinished",
    "TaskParsed",
    "TaskStarted",
    "Template",
    "TimeBreakdown",
    "Tool",
    "ToolError",
    "ToolTimeoutError",
    "Toolset",
    "ToolsetError",
    "TurnLimitError",
    "UnknownReferenceError",
    "UnknownToolError",
    "Usage",
    "parse_decision",
    "parse_plan",
    "resolve_model",
    "tool",
]
