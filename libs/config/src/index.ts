export {
  ConfigError,
  loadInstallConfig,
  DEFAULT_EVENT_RETENTION_SECONDS,
  parseInstallConfig,
  type Env,
  type LoadInstallConfigOptions,
} from './install-config.loader';
export { INSTALL_CONFIG, InjectInstallConfig, InstallConfigModule } from './install-config.module';
export {
  CLUSTER_NAME_PATTERN,
  DEFAULT_HA,
  haOf,
  defaultRegistrySigningKey,
  REGISTRY_PORT_OFFSET,
  registryCertificateFile,
  registryOf,
  type RegistryConfig,
  LOG_LEVELS,
  type ClusterConfig,
  type DatabaseConfig,
  type HaConfig,
  type EventsConfig,
  type InstallConfig,
  type KubernetesExecutorConfig,
  type ContainerExecutorConfig,
  DEFAULT_CONTAINER_EXECUTOR,
  PULL_POLICIES,
  type PullPolicy,
  type SchedulerConfig,
  type LogLevel,
  type StorageConfig,
} from './install-config.schema';
export { REGISTRY_TOKEN_ROUTE, registryTokenAuthOf, renderRegistryConfig, type RegistryTokenAuth } from './registry-config.renderer';
