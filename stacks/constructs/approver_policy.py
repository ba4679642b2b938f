"""The managed policy that lets a person answer approvals: `novaft approve RUN` / `novaft reject RUN --reason TEXT`.

Attach it to whoever may approve spending (docs/policy.md, "Approval"). What it grants, and nothing else:
- find the pipeline: DescribeStacks on this pipeline stack (the operator reads its outputs);
- read a run: GetItem on the runs table and Query on its by_created index (a run name resolves to its latest run);
- record the answer: UpdateItem of the answer's own attributes only (``dynamodb:Attributes``);
- send the answer: states:SendTaskSuccess and states:SendTaskFailure. The Service Authorization Reference lists no
  resource types for these two actions (the task token is what names the waiting task), so they cannot be bounded to
  this state machine by ARN: they take Resource "*", bounded to this region by ``aws:RequestedRegion``. A token is
  only found in this stage's runs table, which this policy alone lets the holder read;
- the data key, only through DynamoDB (the runs table is encrypted with it).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from novaft.pipeline.facts import BY_CREATED_INDEX, RUNS_TABLE_PARTITION_KEY
from stacks.constructs.policy_statements import KeyUser, use_data_key
from stacks.security import acknowledge

TASK_ANSWER_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure")
# What `novaft approve` / `novaft reject` write on the run (novaft/operator/approval.py), and the key it names.
ANSWER_ATTRIBUTES = (
    RUNS_TABLE_PARTITION_KEY,
    "approved_by",
    "approved_at",
    "rejected_by",
    "rejected_at",
    "rejection_reason",
    "approval_task_token",
    "updated_at",
)


class ApproverPolicy(Construct):
    """``policy`` is the managed policy; the stack outputs its ARN (facts.OUTPUT_APPROVER_POLICY)."""

    def __init__(self, scope: Construct, construct_id: str, *, runs_table_arn: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"novaft: answer the approvals of {stack.stack_name} (novaft approve / novaft reject)",
            statements=[
                iam.PolicyStatement(
                    sid="FindThePipeline",
                    actions=["cloudformation:DescribeStacks"],
                    resources=[stack.stack_id],
                ),
                iam.PolicyStatement(
                    sid="ReadRuns",
                    actions=["dynamodb:GetItem", "dynamodb:Query"],
                    resources=[runs_table_arn, f"{runs_table_arn}/index/{BY_CREATED_INDEX}"],
                ),
                iam.PolicyStatement(
                    sid="RecordTheAnswer",
                    actions=["dynamodb:UpdateItem"],
                    resources=[runs_table_arn],
                    conditions={"ForAllValues:StringEquals": {"dynamodb:Attributes": list(ANSWER_ATTRIBUTES)}},
                ),
                iam.PolicyStatement(
                    sid="AnswerTheWaitingTask",
                    actions=list(TASK_ANSWER_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": {"aws:RequestedRegion": stack.region}},
                ),
                use_data_key(key, via=(KeyUser.DYNAMODB,), sid="RunsTableKey"),
            ],
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "states:SendTaskSuccess and states:SendTaskFailure have no resource types in the Service Authorization "
            "Reference (the task token names the task); bounded to this region, and tokens are readable only from "
            "this stage's runs table",
        )
