export * from './build-definition.types';
export { DefinitionError } from './definition-error';
export { dependencySatisfied } from './dependency-condition';
export {
  parseBuildDefinition,
  validateBuildDefinition,
  validateBuildDefinitionReading,
  type IncludeReader,
  type ValidationResult,
} from './parse-build-definition';
export { MAX_INCLUDE_DEPTH, MAX_INCLUDES } from './definition-loader';
export { DEFAULT_RESOURCES, DEFAULT_TIMEOUT_SECONDS, JOB_TYPES } from './build-definition.parser';
