import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { CreateProgramSchema, type CreateProgram } from './programs.schemas';
import { ProgramsService } from './programs.service';

@ApiTags('programs')
@ApiBearerAuth()
@Controller('v1/programs')
export class ProgramsController {
  constructor(@Inject(ProgramsService) private readonly programs: ProgramsService) {}

  @Post()
  @HttpCode(201)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Create a program with its policy (the default policy when none is given)' })
  @ApiBody({ schema: z.toJSONSchema(CreateProgramSchema) as object })
  create(@Body(new ZodPipe(CreateProgramSchema)) body: CreateProgram, @CurrentPrincipal() actor: Principal) {
    return this.programs.create(body, actor);
  }

  @Get()
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @ApiOperation({ summary: 'List programs' })
  list() {
    return this.programs.list();
  }

  @Get(':slug')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @ApiOperation({ summary: 'A program and its current policy' })
  get(@Param('slug') slug: string) {
    return this.programs.get(slug);
  }
}
