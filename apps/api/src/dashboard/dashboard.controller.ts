import { Controller, DefaultValuePipe, Get, Inject, NotFoundException, Param, ParseIntPipe, ParseUUIDPipe, Query, Redirect, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DashboardAsset } from './dashboard-assets';
import { BuildSummaryDto } from '@infrabox/jobs';
import { BuildsService } from '../builds/builds.service';
import { ClustersOverviewDto } from './dashboard.dto';
import { DashboardService } from './dashboard.service';

export const DASHBOARD_ASSETS = Symbol('DASHBOARD_ASSETS');

/** The master's dashboard: its page and files, and the JSON each page reads. Open like the build routes. */
@Controller()
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardService,
    private readonly buildList: BuildsService,
    @Inject(DASHBOARD_ASSETS) private readonly assets: ReadonlyMap<string, DashboardAsset>,
  ) {}

  @Get()
  @Redirect('/dashboard', 302)
  root(): void {}

  /** Also `/dashboard/`; the page links its files by absolute path and routes by `#/…`. */
  @Get('dashboard')
  page(@Res() response: Response): void {
    this.send(response, 'index.html');
  }

  @Get('dashboard/:file')
  file(@Param('file') file: string, @Res() response: Response): void {
    this.send(response, file);
  }

  @Get('api/v1/dashboard/clusters')
  clusters(): Promise<ClustersOverviewDto> {
    return this.dashboard.clustersOverview();
  }

  @Get('api/v1/dashboard/builds')
  builds(@Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number): Promise<BuildSummaryDto[]> {
    return this.buildList.recent(Math.min(Math.max(limit, 1), 500));
  }

  @Get('api/v1/dashboard/builds/:id')
  build(@Param('id', ParseUUIDPipe) id: string): Promise<BuildSummaryDto> {
    return this.dashboard.build(id);
  }

  private send(response: Response, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException(`dashboard file '${name.slice(0, 80)}' not found`);
    response.setHeader('content-type', asset.contentType);
    response.setHeader('cache-control', 'no-cache');
    response.send(asset.body);
  }
}
