import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { AsOfSchema, StartCycleSchema, type StartCycle } from '../programs/programs.schemas';
import { CyclesService } from './cycles.service';

@ApiTags('cycles')
@ApiBearerAuth()
@Controller('v1')
export class CyclesController {
  constructor(@Inject(CyclesService) private readonly cycles: CyclesService) {}

  @Post('programs/:slug/cycles')
  @HttpCode(201)
  @Allow('program_manager')
  @ApiOperation({ summary: "Start a program's yearly cycle (one per year)" })
  @ApiBody({ schema: z.toJSONSchema(StartCycleSchema) as object })
  start(@Param('slug') slug: string, @Body(new ZodPipe(StartCycleSchema)) body: StartCycle, @CurrentPrincipal() actor: Principal) {
    return this.cycles.start(slug, body, actor);
  }

  @Get('cycles/:id')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @ApiOperation({
    summary: "A cycle's stage: recorded (projection) and live (workflow Query); with ?asOf=, the cycle as its events alone say it was then (program managers and auditors)",
  })
  @ApiQuery({ name: 'asOf', required: false, example: '2027-03-01T12:00:00Z' })
  get(@Param('id') id: string, @Query('asOf', new ZodPipe(AsOfSchema, 'asOf')) asOf: string | undefined, @CurrentPrincipal() reader: Principal) {
    return asOf === undefined ? this.cycles.get(id) : this.cycles.asOf(id, asOf, reader);
  }
}
