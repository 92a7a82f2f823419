/** Thrown by parseBuildDefinition; `errors` holds one `<file>#<path>: <reason>` line per problem. */
export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';

  constructor(readonly errors: string[]) {
    super(`Invalid job definition (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${errors.join('\n')}`);
  }
}
