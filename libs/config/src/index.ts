export {
  ConfigError,
  loadInstallConfig,
  parseInstallConfig,
  type Env,
  type LoadInstallConfigOptions,
} from './install-config.loader';
export { INSTALL_CONFIG, InjectInstallConfig, InstallConfigModule } from './install-config.module';
export {
  LOG_LEVELS,
  type ClusterConfig,
  type DatabaseConfig,
  type InstallConfig,
  type KubernetesExecutorConfig,
  type SchedulerConfig,
  type LogLevel,
  type StorageConfig,
} from './install-config.schema';
