"""Benchmarks: parcall against the critical path, ReAct and parallel tool calling.

`run_simulated()` runs scripted workloads (model and tool latencies simulated in real time)
through every agent; `run_micro()` measures the engine itself; `run_passes()` each plan pass
off and on. All write JSON and markdown
to an `out_dir` only when given one; `parcall bench` calls them.
"""

from ._critical_path import REFERENCE_TIMING, Bound, ModelTiming, critical_path, rounds_bound
from ._figures import RunFigures
from ._micro import MicroReport, run_micro
from ._passes import PassesReport, pass_cases, run_passes
from ._report import PUBLISHED, new_out_dir
from ._scripts import AGENTS, Script, bound, scripts, sim_tools
from ._simulated import SimulatedReport, run_agent, run_simulated
from ._timeline import Timeline, timeline_from_events, write_html, write_png
from ._workloads import Round, SimTask, Workload, reference_workloads, suite

__all__ = [
    "AGENTS",
    "PUBLISHED",
    "REFERENCE_TIMING",
    "Bound",
    "MicroReport",
    "ModelTiming",
    "PassesReport",
    "Round",
    "RunFigures",
    "Script",
    "SimTask",
    "SimulatedReport",
    "Timeline",
    "Workload",
    "bound",
    "critical_path",
    "new_out_dir",
    "pass_cases",
    "reference_workloads",
    "rounds_bound",
    "run_agent",
    "run_micro",
    "run_passes",
    "run_simulated",
    "scripts",
    "sim_tools",
    "suite",
    "timeline_from_events",
    "write_html",
    "write_png",
]
