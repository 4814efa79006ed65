"""The words Tekton uses in a run's ``Succeeded`` condition, skipped tasks and step states.

Kept in one place so status documents, tests and the CLI agree with Tekton's (``tekton.dev/v1``)
spelling: ``reason`` values of PipelineRuns and TaskRuns, ``skippedTasks[].reason`` sentences, the
messages of cancelled TaskRuns, and the ``terminationReason`` of steps.
"""

from __future__ import annotations

# PipelineRun reasons
PR_STARTED = "Started"
PR_RUNNING = "Running"
PR_SUCCEEDED = "Succeeded"
PR_COMPLETED = "Completed"
PR_FAILED = "Failed"
PR_CANCELLED = "Cancelled"
PR_TIMEOUT = "PipelineRunTimeout"
PR_STOPPING = "PipelineRunStopping"
PR_TIMEOUT_RUNNING_FINALLY = "PipelineRunTimeoutRunningFinally"
PR_CANCELLED_RUNNING_FINALLY = "CancelledRunningFinally"
PR_STOPPED_RUNNING_FINALLY = "StoppedRunningFinally"
PR_PARAMETER_MISSING = "ParameterMissing"
PR_PARAMETER_TYPE_MISMATCH = "ParameterTypeMismatch"
PR_INVALID_WORKSPACE_BINDING = "InvalidWorkspaceBindings"
PR_INVALID_RESULT_REFERENCE = "InvalidTaskResultReference"
PR_COULDNT_GET_TASK = "CouldntGetTask"
PR_COULDNT_GET_PIPELINE = "CouldntGetPipeline"
PR_VALIDATION_FAILED = "PipelineValidationFailed"
PR_CEL_EVALUATION_FAILED = "CELEvaluationFailed"
PR_INVALID_PARAM_VALUE = "InvalidParamValue"

# PipelineRun spec.status values that ask for cancellation
CANCELLED = "Cancelled"
CANCELLED_RUN_FINALLY = "CancelledRunFinally"
STOPPED_RUN_FINALLY = "StoppedRunFinally"
CANCEL_REQUESTS = (CANCELLED, CANCELLED_RUN_FINALLY, STOPPED_RUN_FINALLY)

# TaskRun reasons
TR_STARTED = "Started"
TR_RUNNING = "Running"
TR_SUCCEEDED = "Succeeded"
TR_FAILED = "Failed"
TR_CANCELLED = "TaskRunCancelled"
TR_TIMEOUT = "TaskRunTimeout"
TR_IMAGE_PULL_FAILED = "TaskRunImagePullFailed"
TR_RESULT_TOO_LARGE = "TaskRunResultLargerThanAllowedLimit"
TR_FAILURE_IGNORED = "FailureIgnored"
TR_VALIDATION_FAILED = "TaskRunValidationFailed"
TR_CONFIG_ERROR = "CreateContainerConfigError"

TR_CANCELLED_BY_PIPELINE = "TaskRun cancelled as the PipelineRun it belongs to has been cancelled."
TR_CANCELLED_BY_PIPELINE_TIMEOUT = "TaskRun cancelled as the PipelineRun it belongs to has timed out."
TR_CANCELLED_BY_USER = "TaskRun cancelled by the user."
TR_ALL_STEPS_DONE = "All Steps have completed executing"

# skippedTasks[].reason
SKIP_WHEN = "When Expressions evaluated to false"
SKIP_PARENT = "Parent Tasks were skipped"
SKIP_STOPPING = "PipelineRun was stopping"
SKIP_GRACEFULLY_CANCELLED = "PipelineRun was gracefully cancelled"
SKIP_GRACEFULLY_STOPPED = "PipelineRun was gracefully stopped"
SKIP_MISSING_RESULTS = "Results were missing"
SKIP_PIPELINE_TIMEOUT = "PipelineRun timeout has been reached"
SKIP_TASKS_TIMEOUT = "PipelineRun Tasks timeout has been reached"
SKIP_FINALLY_TIMEOUT = "PipelineRun Finally timeout has been reached"
SKIP_EMPTY_MATRIX = "Matrix Parameters have an empty array"
TIMEOUT_SKIPS = (SKIP_PIPELINE_TIMEOUT, SKIP_TASKS_TIMEOUT, SKIP_FINALLY_TIMEOUT)

# steps[].terminationReason
STEP_COMPLETED = "Completed"
STEP_CONTINUED = "Continued"
STEP_ERROR = "Error"
STEP_SKIPPED = "Skipped"
STEP_TIMEOUT = "TimeoutExceeded"
STEP_CANCELLED = "Cancelled"

# $(tasks.<t>.status) and $(tasks.status)
STATUS_SUCCEEDED = "Succeeded"
STATUS_FAILED = "Failed"
STATUS_COMPLETED = "Completed"
STATUS_NONE = "None"

USER_ERROR = "[User error] "
"""Prefix Tekton puts on condition messages caused by the user's input."""
