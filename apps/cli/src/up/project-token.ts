import { ROUTES } from '@infrabox/contract';
import { CliError } from '../cli-error';
import { InfraboxApiClient } from '../infrabox-api.client';

/** The project `infrabox up` gets a token for, so that `infrabox push` works without flags. */
export const LOCAL_PROJECT = 'default';

export type ProjectTokenResult = { ok: true; token: string } | { ok: false; warning: string };

/**
 * Asks the API at `apiUrl` for a token of `project` (`POST /api/v1/admin/projects/:name/tokens`,
 * which creates the project when needed), as the admin of `adminToken`. Never throws: a failure
 * becomes one warning line.
 */
export async function requestProjectToken(apiUrl: string, adminToken: string, project: string = LOCAL_PROJECT): Promise<ProjectTokenResult> {
  const tokenPath = ROUTES.projectTokens(project);
  let reason: string;
  try {
    const client = new InfraboxApiClient(apiUrl, adminToken);
    const response = await client.request('POST', tokenPath, {});
    const token = (response.body as { token?: unknown } | undefined)?.token;
    if (response.status === 201 && typeof token === 'string' && token !== '') return { ok: true, token };
    reason = response.status === 201 ? `the InfraBox API answered POST ${tokenPath} without a token` : client.failure('POST', tokenPath, response).message;
  } catch (error) {
    reason = error instanceof CliError || error instanceof Error ? error.message : String(error);
  }
  const oneLine = reason.replace(/\s*\n\s*/g, ' ');
  return {
    ok: false,
    warning: `warning: no project token for '${project}' (${oneLine}); \`infrabox push\` needs --token or $INFRABOX_TOKEN`,
  };
}
