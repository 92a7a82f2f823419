import { Controller, DefaultValuePipe, Get, Inject, NotFoundException, Param, ParseIntPipe, ParseUUIDPipe, Query, Redirect, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { ProjectAccess } from '../access/project-access.service';
import { ReadLane } from '../http/read-lane.interceptor';
import { DashboardAsset } from './dashboard-assets';
import { BuildSummaryDto } from '@infrabox/jobs';
import { BuildsService } from '../builds/builds.service';
import { ClustersOverviewDto } from './dashboard.dto';
import { DashboardService } from './dashboard.service';

export const DASHBOARD_ASSETS = Symbol('DASHBOARD_ASSETS');

/**
 * The master's dashboard: its page and files (open: the page asks for a login), and the JSON each
 * page reads, for logged-in users and tokens, limited to the projects the caller sees.
 */
@Controller()
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardService,
    private readonly buildList: BuildsService,
    private readonly access: ProjectAccess,
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
  @ReadLane()
  @Authenticated('user', 'project', 'admin')
  clusters(): Promise<ClustersOverviewDto> {
    return this.dashboard.clustersOverview();
  }

  @Get('api/v1/dashboard/builds')
  @ReadLane()
  @Authenticated('user', 'project', 'admin')
  async builds(@Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number, @CurrentPrincipal() principal: Principal): Promise<BuildSummaryDto[]> {
    return this.buildList.recent(Math.min(Math.max(limit, 1), 500), await this.access.visibleProjectIds(principal));
  }

  @Get('api/v1/dashboard/builds/:id')
  @ReadLane()
  @Authenticated('user', 'project', 'admin')
  async build(@Param('id', ParseUUIDPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<BuildSummaryDto> {
    await this.access.assertMayUse(principal, await this.buildList.projectOf(id));
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
