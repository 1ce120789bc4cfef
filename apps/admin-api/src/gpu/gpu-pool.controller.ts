import { Body, Controller, Get, HttpCode, Inject, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { PoolQuerySchema, PutPoolPolicySchema, RegisterCapacitySchema, type PutPoolPolicy, type RegisterCapacity } from './gpu.schemas';
import { GpuPoolService } from './gpu-pool.service';

@ApiTags('gpu')
@ApiBearerAuth()
@Controller('v1/gpu')
export class GpuPoolController {
  constructor(@Inject(GpuPoolService) private readonly gpu: GpuPoolService) {}

  @Get('pool')
  @Allow('program_manager', 'auditor')
  @ApiOperation({ summary: "The national GPU pool: capacity, reservations and usage by type and site, over time" })
  @ApiQuery({ name: 'from', required: false, description: 'ISO instant; default 28 days ago' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO instant; default a year after from' })
  @ApiQuery({ name: 'step', required: false, description: "series spacing, e.g. '1 day', '7 days', '1 month'" })
  pool(@Query(new ZodPipe(PoolQuerySchema)) query: z.output<typeof PoolQuerySchema>) {
    return this.gpu.pool(query);
  }

  @Post('capacity')
  @HttpCode(201)
  @Allow('program_manager')
  @ApiOperation({ summary: 'Register GPU capacity (owned or leased, with its availability window) in the pool' })
  @ApiBody({ schema: z.toJSONSchema(RegisterCapacitySchema, { io: 'input' }) as object })
  register(@Body(new ZodPipe(RegisterCapacitySchema)) body: RegisterCapacity, @CurrentPrincipal() actor: Principal) {
    return this.gpu.registerCapacity(body, actor);
  }

  @Get('policy')
  @Allow('admin', 'program_manager', 'auditor')
  @ApiOperation({ summary: 'The current pool policy (rates, lessor rule, reallocation, thresholds, throttle) and its version history' })
  policy() {
    return this.gpu.policy();
  }

  @Put('policy')
  @Allow('admin', 'program_manager')
  @ApiOperation({ summary: 'Set the pool policy: a new version that later allocations are decided under (the same document again is no new version)' })
  @ApiBody({ schema: z.toJSONSchema(PutPoolPolicySchema, { io: 'input' }) as object })
  setPolicy(@Body(new ZodPipe(PutPoolPolicySchema)) body: PutPoolPolicy, @CurrentPrincipal() actor: Principal) {
    return this.gpu.setPolicy(body, actor);
  }
}
