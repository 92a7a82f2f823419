import { Controller, ForbiddenException, Get, HttpCode, Param, ParseUUIDPipe, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { assertOwnJob, Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { JobDataService } from './job-data.service';

/** Routes a job calls with its own job token. */
@Controller('api/v1/jobs/:id')
@Authenticated('job')
export class JobDataController {
  constructor(private readonly data: JobDataService) {}

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
    res.setHeader('content-type', 'application/x-tar');
    res.setHeader('content-length', String(output.size));
    res.setHeader('x-infrabox-sha256', output.sha256);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  @Put('output')
  @HttpCode(201)
  async output(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) jobId: string, @Req() req: Request) {
    assertOwnJob(principal, jobId);
    return this.data.storeOutput(jobId, req);
  }
}
