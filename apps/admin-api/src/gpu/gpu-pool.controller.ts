import { Body, Controller, Get, HttpCode, Inject, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { PoolQuerySchema, PutPoolPolicySchema, RegisterCapacitySchema, type PutPoolPolicy, type RegisterCapacity } from './gpu.schemas';
import { GpuPoolService } from './gpu-pool.service';
import { Answers } from '../http/answers';
import { CapacityAnswer, PoolAnswer, PoolPolicyAnswer, PoolPolicySetAnswer } from './gpu.answers';

@ApiTags('gpu')
@ApiBearerAuth()
@Controller('v1/gpu')
export class GpuPoolController {
  constructor(@Inject(GpuPoolService) private readonly gpu: GpuPoolService) {}

  @Get('pool')
  @Allow('program_manager', 'auditor')
  @Answers(PoolAnswer)
  @ApiOperation({ summary: "The national GPU pool: capacity, reservations and usage by type and site, over time" })
  pool(@Query(new ZodPipe(PoolQuerySchema)) query: z.output<typeof PoolQuerySchema>) {
    return this.gpu.pool(query);
  }

  @Post('capacity')
  @HttpCode(201)
  @Allow('program_manager')
  @Answers(CapacityAnswer)
  @ApiOperation({ summary: 'Register GPU capacity (owned or leased, with its availability window) in the pool' })
  register(@Body(new ZodPipe(RegisterCapacitySchema)) body: RegisterCapacity, @CurrentPrincipal() actor: Principal) {
    return this.gpu.registerCapacity(body, actor);
  }

  @Get('policy')
  @Allow('admin', 'program_manager', 'auditor')
  @Answers(PoolPolicyAnswer)
  @ApiOperation({ summary: 'The current pool policy (rates, lessor rule, reallocation, thresholds, throttle) and its version history' })
  policy() {
    return this.gpu.policy();
  }

  @Put('policy')
  @Allow('admin', 'program_manager')
  @Answers(PoolPolicySetAnswer)
  @ApiOperation({ summary: 'Set the pool policy: a new version that later allocations are decided under (the same document again is no new version)' })
  setPolicy(@Body(new ZodPipe(PutPoolPolicySchema)) body: PutPoolPolicy, @CurrentPrincipal() actor: Principal) {
    return this.gpu.setPolicy(body, actor);
  }
}
