import { Controller, ForbiddenException, Get, HttpCode, Param, ParseUUIDPipe, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { assertOwnJob, Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { TarBody } from '../http/content-type.guard';
import { sendArchive } from '../peer/archive-response';
import { JobDataService } from './job-data.service';

/** Routes a job calls with its own job token. */
@Controller('api/v1/jobs/:id')
@Authenticated('job')
export class JobDataController {
  constructor(private readonly data: JobDataService) {}

  /** The tar of the job's build source. */
  @Get('source')
  async source(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) jobId: string, @Res() res: Response): Promise<void> {
    assertOwnJob(principal, jobId);
    const { source, stream } = await this.data.openSource(jobId);
    sendArchive(res, source, stream, undefined);
  }

  /** The output tar of one of the job's direct parents. */
  @Get('inputs/:parentId')
  async input(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) jobId: string,
    @Param('parentId', ParseUUIDPipe) parentId: string,
    @Res() res: Response,
  ): Promise<void> {
    assertOwnJob(principal, jobId);
    if (!principal.parents.includes(parentId)) {
      throw new ForbiddenException({ statusCode: 403, message: `job ${jobId} may read the outputs of its direct parents only` });
    }
    const { output, stream } = await this.data.openInput(parentId);
    sendArchive(res, output, stream, undefined);
  }

  @Put('output')
  @HttpCode(201)
  @TarBody()
  async output(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) jobId: string, @Req() req: Request) {
    assertOwnJob(principal, jobId);
    return this.data.storeOutput(jobId, req);
  }
}
