import { ForbiddenException } from '@nestjs/common';
import { assertJobMayReadOutputOf, assertOwnJob, assertProjectAccess, assertProjectNamedOrAdmin, assertProjectOrAdmin } from './auth.scopes';
import { AdminPrincipal, ClusterPrincipal, JobPrincipal, ProjectPrincipal } from './principal.types';

const job: JobPrincipal = { kind: 'job', jobId: 'child', buildId: 'b', projectId: 'p', parents: ['mother', 'father'], issuer: 'w1' };
const cluster: ClusterPrincipal = { kind: 'cluster', cluster: 'w2' };
const project: ProjectPrincipal = { kind: 'project', projectId: 'p', projectName: 'demo' };
const admin: AdminPrincipal = { kind: 'admin', issuer: 'master' };

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

  it('assertProjectAccess admits a token of that project only', () => {
    expect(() => assertProjectAccess(project, 'p')).not.toThrow();
    expect(forbiddenBody(() => assertProjectAccess(project, 'q'))).toEqual({
      statusCode: 403,
      message: "a token of project 'demo' may act on that project only",
    });
    // A job of the project carries its project id, but it is not a user of the project.
    expect(() => assertProjectAccess(job, 'p')).toThrow(ForbiddenException);
    expect(() => assertProjectAccess(cluster, 'p')).toThrow(ForbiddenException);
  });

  it('an admin acts on every project; a project token on its own only; job and cluster tokens on none', () => {
    expect(() => assertProjectOrAdmin(admin, 'anything')).not.toThrow();
    expect(() => assertProjectNamedOrAdmin(admin, 'anything')).not.toThrow();
    expect(() => assertProjectOrAdmin(project, 'p')).not.toThrow();
    expect(() => assertProjectNamedOrAdmin(project, 'demo')).not.toThrow();
    expect(forbiddenBody(() => assertProjectNamedOrAdmin(project, 'other'))).toEqual({
      statusCode: 403,
      message: "a token of project 'demo' may act on that project only, not on 'other'",
    });
    expect(() => assertProjectOrAdmin(project, 'q')).toThrow(ForbiddenException);
    for (const other of [job, cluster]) {
      expect(() => assertProjectOrAdmin(other, 'p')).toThrow(ForbiddenException);
      expect(() => assertProjectNamedOrAdmin(other, 'demo')).toThrow(ForbiddenException);
    }
  });
});
