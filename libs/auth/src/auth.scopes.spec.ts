import { ForbiddenException } from '@nestjs/common';
import { assertJobMayReadOutputOf, assertOwnJob } from './auth.scopes';
import { ClusterPrincipal, JobPrincipal, ProjectPrincipal } from './principal.types';

const job: JobPrincipal = { kind: 'job', jobId: 'child', buildId: 'b', projectId: 'p', parents: ['mother', 'father'], issuer: 'w1' };
const cluster: ClusterPrincipal = { kind: 'cluster', cluster: 'w2' };
const project: ProjectPrincipal = { kind: 'project', projectId: 'p', projectName: 'demo' };

function forbiddenBody(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ForbiddenException);
    return (error as ForbiddenException).getResponse();
  }
  throw new Error('expected a ForbiddenException');
}

describe('scope checks', () => {
  it('a job may read its own output and those of its direct parents', () => {
    expect(() => assertJobMayReadOutputOf(job, 'child')).not.toThrow();
    expect(() => assertJobMayReadOutputOf(job, 'mother')).not.toThrow();
    expect(() => assertJobMayReadOutputOf(job, 'father')).not.toThrow();
  });

  it('a job may not read the output of a grandparent, a sibling or any other job', () => {
    for (const other of ['grandmother', 'sibling', 'Mother', '']) {
      expect(forbiddenBody(() => assertJobMayReadOutputOf(job, other))).toEqual({
        statusCode: 403,
        message: 'job child may read outputs of its direct parents only',
      });
    }
  });

  it('a job without parents may read only its own output', () => {
    const orphan: JobPrincipal = { ...job, jobId: 'solo', parents: [] };
    expect(() => assertJobMayReadOutputOf(orphan, 'solo')).not.toThrow();
    expect(() => assertJobMayReadOutputOf(orphan, 'mother')).toThrow(ForbiddenException);
  });

  it('output scope is a job scope: cluster and project tokens are refused', () => {
    expect(forbiddenBody(() => assertJobMayReadOutputOf(cluster, 'child'))).toEqual({
      statusCode: 403,
      message: 'only a job token is scoped to job outputs, not a cluster token',
    });
    expect(() => assertJobMayReadOutputOf(project, 'child')).toThrow(ForbiddenException);
  });

  it('assertOwnJob lets a job act on itself only (not on its parents)', () => {
    expect(() => assertOwnJob(job, 'child')).not.toThrow();
    expect(forbiddenBody(() => assertOwnJob(job, 'mother'))).toEqual({ statusCode: 403, message: 'job child may act on its own job only' });
    expect(() => assertOwnJob(cluster, 'child')).toThrow(ForbiddenException);
  });
});
