"""parcall: parallel function calling for language models.

A planner model writes a plan of tool calls whose arguments may name earlier results
(`$1`); each task starts as soon as its line is parsed and its inputs are ready; a joiner
answers or replans.
"""

from ._agent import Agent, RunStream
from ._core.context import RunContext
from ._core.errors import (
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
from ._core.events import (
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
from ._core.extras import MissingExtraError
from ._core.history import Turn, TurnTask
from ._core.json_check import StructuredDict
from ._core.limits import UsageLimits
from ._core.observation import Observation
from ._core.plan import Plan, Ref, Task, Template
from ._core.provenance import Provenance, Source
from ._core.result import PlanErrorInfo, RunResult
from ._core.result import draw_pages_with as _draw_pages_with
from ._core.settings import JoinPolicy, Settings
from ._core.timing import TimeBreakdown
from ._core.tool import Tool, ToolDescriptionWarning, tool
from ._core.toolset import Toolset
from ._join.decision import Finish, Replan, parse_decision
from ._join.output import OutputValidationError
from ._planner.prompts import Example, Prompts
from ._planner.text import PlanParser, parse_plan
from ._run.approval import ApprovalRequest, Approve, PlannedCall, Reject
from ._run.plan_pass import Call, Pass, PassContext, PassRun
from ._run.policy import Policy, PolicyCall, Sealed
from .baselines._parallel_calls import ParallelToolCallAgent
from .baselines._react import ReActAgent
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
from .observe._page import render_page as _render_page

__version__ = "0.1.0"

_draw_pages_with(_render_page)  # RunResult.to_html: the engine draws no page itself

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
    "JoinPolicy",
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
    "Settings",
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
