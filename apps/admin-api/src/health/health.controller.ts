import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Connection } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { Public } from '../auth/roles';
import { Answers } from '../http/answers';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(Connection) private readonly temporal: Connection,
  ) {}

  @Get()
  @Public()
  @Answers(z.object({ status: z.literal('ok'), database: z.literal('up'), temporal: z.literal('up') }))
  async check() {
    const [database, temporal] = await Promise.all([
      this.db.query('SELECT 1').then(() => 'up', () => 'down'),
      this.temporal.healthService.check({}).then(() => 'up', () => 'down'),
    ]);
    const body = { status: database === 'up' && temporal === 'up' ? 'ok' : 'degraded', database, temporal };
    if (body.status !== 'ok') throw new ServiceUnavailableException(body);
    return body;
  }
}
