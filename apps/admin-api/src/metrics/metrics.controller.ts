import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { metricsText, registerDatabaseGauges } from '@concentra/observability';
import { Public } from '../auth/roles';
import { Ungated } from '../http/dependency-gate.interceptor';

/** Prometheus scrape target: HTTP latency, commands, and what the database says (read when scraped). */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(DataSource) db: DataSource) {
    registerDatabaseGauges(db);
  }

  @Get()
  @Public()
  @Ungated()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response): Promise<void> {
    const { contentType, body } = await metricsText();
    res.type(contentType).send(body);
  }
}
