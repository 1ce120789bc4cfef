import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { Answers } from '../http/answers';
import { ZodPipe } from '../http/zod-body.pipe';
import {
  ApplicationIdSchema,
  ApproveMembershipChangeSchema,
  CommandAnswerSchema,
  ApproveNarrowingSchema,
  ApproveSelectionSchema,
  CancelCycleSchema,
  DeclareConflictSchema,
  DeclineAssignmentSchema,
  DecideObjectionSchema,
  ObjectToDecisionSchema,
  OverrideNarrowingSchema,
  OverrideSelectionSchema,
  RecordProcurementContractSchema,
  RecordReleaseDeclarationSchema,
  SelectRefillEntrantsSchema,
  SetGrantGpusSchema,
  SubmitApplicationSchema,
  SubmitEvaluationScoresSchema,
  SubmitModelSchema,
  SubmitReviewSchema,
  WaiveObjectionSchema,
  WithdrawApplicationSchema,
} from './commands.schemas';
import { CycleCommandsService } from './commands.service';

type Body<S extends z.ZodType> = z.infer<S>;

/** An application id in the path: a 400 naming the field when it is not a slug. */
const AppId = () => Param('applicationId', new ZodPipe(ApplicationIdSchema, 'applicationId'));

/**
 * Every command a person gives a running cycle, one route each. The caller's role is checked here
 * (@Allow) and again, with everything else, by the cycle itself; the answer is the command's result.
 */
@ApiTags('cycle commands')
@ApiBearerAuth()
@Controller('v1/cycles/:id')
@Answers(CommandAnswerSchema)
export class CycleCommandsController {
  constructor(@Inject(CycleCommandsService) private readonly commands: CycleCommandsService) {}

  @Post('applications')
  @HttpCode(201)
  @Allow('applicant')
  @ApiOperation({ summary: 'Apply to the call (or a refill call) for your own organisation' })
  submitApplication(@Param('id') id: string, @Body(new ZodPipe(SubmitApplicationSchema)) body: Body<typeof SubmitApplicationSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.submitApplication(id, body, p);
  }

  @Post('applications/:applicationId/withdraw')
  @HttpCode(200)
  @Allow('applicant')
  @ApiOperation({ summary: "Withdraw your organisation's application (its grant, if any, is released)" })
  withdraw(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(WithdrawApplicationSchema)) body: Body<typeof WithdrawApplicationSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'WithdrawApplication', { applicationId, ...body }, p);
  }

  @Post('applications/:applicationId/membership')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: "Approve a change of a consortium's members, with a rationale" })
  changeMembership(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(ApproveMembershipChangeSchema)) body: Body<typeof ApproveMembershipChangeSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.changeMembership(id, applicationId, body, p);
  }

  @Post('applications/:applicationId/conflicts')
  @HttpCode(201)
  @Allow('reviewer', 'evaluator', 'applicant')
  @ApiOperation({ summary: "Declare a conflict of interest with an application (you will not score it; an applicant's, with a peer review assigned to it, is declined and replaced as below)" })
  declareConflict(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(DeclareConflictSchema)) body: Body<typeof DeclareConflictSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'DeclareConflictOfInterest', { applicationId, ...body }, p);
  }

  @Post('applications/:applicationId/assignment/decline')
  @HttpCode(200)
  @Allow('reviewer', 'applicant')
  @ApiOperation({
    summary:
      "Decline your assignment to review an application, with a reason: another reviewer is assigned by the policy (an applicant's peer review: another applicant takes it, and yours gets another application in its place)",
  })
  declineAssignment(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(DeclineAssignmentSchema)) body: Body<typeof DeclineAssignmentSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'DeclineReviewAssignment', { applicationId, ...body }, p);
  }

  @Post('reviews')
  @HttpCode(201)
  @Allow('reviewer', 'applicant')
  @ApiOperation({ summary: "Submit a review of an application in the open review round (an applicant's is a peer review of one assigned to its own application, where the policy has peer review)" })
  submitReview(@Param('id') id: string, @Body(new ZodPipe(SubmitReviewSchema)) body: Body<typeof SubmitReviewSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.submitReview(id, body, p);
  }

  @Post('selection/approve')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Approve the proposed selection of awardees' })
  approveSelection(@Param('id') id: string, @Body(new ZodPipe(ApproveSelectionSchema)) body: Body<typeof ApproveSelectionSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'ApproveSelection', body, p);
  }

  @Post('selection/override')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Select different awardees than proposed, with a written rationale' })
  overrideSelection(@Param('id') id: string, @Body(new ZodPipe(OverrideSelectionSchema)) body: Body<typeof OverrideSelectionSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'OverrideSelection', body, p);
  }

  @Post('models')
  @HttpCode(201)
  @Allow('applicant')
  @ApiOperation({ summary: "Submit your team's model for an evaluation round" })
  submitModel(@Param('id') id: string, @Body(new ZodPipe(SubmitModelSchema)) body: Body<typeof SubmitModelSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'SubmitModel', body, p);
  }

  @Post('evaluation-scores')
  @HttpCode(201)
  @Allow('evaluator', 'reviewer')
  @ApiOperation({ summary: "Submit evaluation scores and pass/fail verdicts for a team's model" })
  submitEvaluationScores(@Param('id') id: string, @Body(new ZodPipe(SubmitEvaluationScoresSchema)) body: Body<typeof SubmitEvaluationScoresSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.submitEvaluationScores(id, body, p);
  }

  @Post('narrowing/approve')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Approve the proposed narrowing of an evaluation round' })
  approveNarrowing(@Param('id') id: string, @Body(new ZodPipe(ApproveNarrowingSchema)) body: Body<typeof ApproveNarrowingSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'ApproveNarrowing', body, p);
  }

  @Post('narrowing/override')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Keep a different number or set of teams than proposed, with a written rationale' })
  overrideNarrowing(@Param('id') id: string, @Body(new ZodPipe(OverrideNarrowingSchema)) body: Body<typeof OverrideNarrowingSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'OverrideNarrowing', body, p);
  }

  @Post('objections')
  @HttpCode(201)
  @Allow('applicant')
  @ApiOperation({ summary: 'Object to a decision that went against your team, within the window' })
  object(@Param('id') id: string, @Body(new ZodPipe(ObjectToDecisionSchema)) body: Body<typeof ObjectToDecisionSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'ObjectToDecision', body, p);
  }

  @Post('objections/:applicationId/waive')
  @HttpCode(200)
  @Allow('applicant')
  @ApiOperation({ summary: 'Waive the right to object (the window may then close early)' })
  waive(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(WaiveObjectionSchema)) _body: Body<typeof WaiveObjectionSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'WaiveObjection', { applicationId }, p);
  }

  @Post('objections/:applicationId/decision')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Uphold (the decision is taken again) or dismiss an objection, with reasoning' })
  decideObjection(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(DecideObjectionSchema)) body: Body<typeof DecideObjectionSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'DecideObjection', { applicationId, ...body }, p);
  }

  @Post('refill/selection')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Choose the entrants of a refill call ("none" is an empty list)' })
  selectRefill(@Param('id') id: string, @Body(new ZodPipe(SelectRefillEntrantsSchema)) body: Body<typeof SelectRefillEntrantsSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'SelectRefillEntrants', body, p);
  }

  @Post('grants/:applicationId/gpus')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: "Set a team's GPU amount, with a rationale (applies to its running grant, or the grant when it starts)" })
  setGrantGpus(@Param('id') id: string, @AppId() applicationId: string, @Body(new ZodPipe(SetGrantGpusSchema)) body: Body<typeof SetGrantGpusSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'SetGrantGpus', { applicationId, ...body }, p);
  }

  @Post('procurement/contracts')
  @HttpCode(201)
  @Allow('program_manager')
  @ApiOperation({ summary: "Record a public-use contract for a finalist's model" })
  recordContract(@Param('id') id: string, @Body(new ZodPipe(RecordProcurementContractSchema)) body: Body<typeof RecordProcurementContractSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'RecordProcurementContract', body, p);
  }

  @Post('procurement/releases')
  @HttpCode(201)
  @Allow('applicant', 'program_manager')
  @ApiOperation({ summary: 'Declare the open-source release of the basic model (repository, licence, checksums)' })
  recordRelease(@Param('id') id: string, @Body(new ZodPipe(RecordReleaseDeclarationSchema)) body: Body<typeof RecordReleaseDeclarationSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'RecordReleaseDeclaration', body, p);
  }

  @Post('cancel')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Cancel the cycle, with a reason (every grant is released)' })
  cancel(@Param('id') id: string, @Body(new ZodPipe(CancelCycleSchema)) body: Body<typeof CancelCycleSchema>, @CurrentPrincipal() p: Principal) {
    return this.commands.send(id, 'CancelCycle', body, p);
  }
}
