import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Principal } from '@concentra/auth';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { Answers } from '../http/answers';
import { ZodPipe } from '../http/zod-body.pipe';
import { ApplicationIdSchema, CommandAnswerSchema } from './commands.schemas';
import { CycleCommandsService } from './commands.service';

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
/** A report id as the policy names it (`grantReports.reports[].id`). */
const ReportIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a report id: lower-case letters, digits, "-" or "_", at most 63 characters');

/** A team's report on its grant: what was done, and where the document is. */
export const SubmitGrantReportSchema = z.strictObject({
  summary: text(10_000),
  documentUri: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2_000).optional(),
});
/** A program manager's review of a submitted report; asking for changes needs a comment that says which. */
export const ReviewGrantReportSchema = z.strictObject({
  outcome: z.enum(['accepted', 'changes_requested']),
  comment: text(10_000).optional(),
});

const AppId = () => Param('applicationId', new ZodPipe(ApplicationIdSchema, 'applicationId'));
const ReportId = () => Param('reportId', new ZodPipe(ReportIdSchema, 'reportId'));

/**
 * Milestones and progress reports of a grant (issue 15, item 5): the team submits each report its
 * policy asks for, a program manager reviews it. Late (policy `acceptLate` absent), duplicate or
 * unknown reports are the cycle's refusals (409 deadline_passed, 409 duplicate, 404 not_found).
 */
@ApiTags('cycle commands')
@ApiBearerAuth()
@Controller('v1/cycles/:id/grants/:applicationId/reports/:reportId')
@Answers(CommandAnswerSchema)
export class GrantReportsController {
  constructor(@Inject(CycleCommandsService) private readonly commands: CycleCommandsService) {}

  @Post()
  @HttpCode(201)
  @Allow('applicant')
  @ApiOperation({ summary: "Submit one of your grant's reports (a milestone, a progress or the final report), by its due date" })
  submit(
    @Param('id') id: string,
    @AppId() applicationId: string,
    @ReportId() reportId: string,
    @Body(new ZodPipe(SubmitGrantReportSchema)) body: z.infer<typeof SubmitGrantReportSchema>,
    @CurrentPrincipal() p: Principal,
  ) {
    return this.commands.send(id, 'SubmitGrantReport', { applicationId, reportId, ...body }, p);
  }

  @Post('review')
  @HttpCode(200)
  @Allow('program_manager')
  @ApiOperation({ summary: "Review a team's submitted report: accept it, or ask for changes (with a comment)" })
  review(
    @Param('id') id: string,
    @AppId() applicationId: string,
    @ReportId() reportId: string,
    @Body(new ZodPipe(ReviewGrantReportSchema)) body: z.infer<typeof ReviewGrantReportSchema>,
    @CurrentPrincipal() p: Principal,
  ) {
    return this.commands.send(id, 'ReviewGrantReport', { applicationId, reportId, ...body }, p);
  }
}
