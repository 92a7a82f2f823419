export * from './build-definition.types';
export { DefinitionError } from './definition-error';
export { dependencySatisfied } from './dependency-condition';
export { parseBuildDefinition, validateBuildDefinition, type ValidationResult } from './parse-build-definition';
export { DEFAULT_RESOURCES, DEFAULT_TIMEOUT_SECONDS, JOB_TYPES } from './build-definition.parser';
