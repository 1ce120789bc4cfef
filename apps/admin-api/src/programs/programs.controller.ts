import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { CreateProgramSchema, type CreateProgram } from './programs.schemas';
import { ProgramsService } from './programs.service';
import { Answers } from '../http/answers';
import { ProgramAnswer, ProgramsAnswer } from './programs.answers';

@ApiTags('programs')
@ApiBearerAuth()
@Controller('v1/programs')
export class ProgramsController {
  constructor(@Inject(ProgramsService) private readonly programs: ProgramsService) {}

  @Post()
  @HttpCode(201)
  @Allow('program_manager')
  @Answers(ProgramAnswer)
  @ApiOperation({ summary: 'Create a program with its policy (the default policy when none is given)' })
  create(@Body(new ZodPipe(CreateProgramSchema)) body: CreateProgram, @CurrentPrincipal() actor: Principal) {
    return this.programs.create(body, actor);
  }

  @Get()
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(ProgramsAnswer)
  @ApiOperation({ summary: 'List programs' })
  list() {
    return this.programs.list();
  }

  @Get(':slug')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(ProgramAnswer)
  @ApiOperation({ summary: 'A program and its current policy' })
  get(@Param('slug') slug: string) {
    return this.programs.get(slug);
  }
}
