export { dockerClient, engineCandidates, engineMessage,
  followEngineProgress, findContainerEngine, infraboxPodmanSocket,
  NO_ENGINE_WARNING, renderRegistriesConf, startPodmanService, type ContainerEngine, type PodmanServiceOptions } from './container-engine';
export { copyImage, DEFAULT_REGISTRY_IDLE_TIMEOUT_MS, type ImageCopy, type ImageManifest, parseChallenge, RegistryClient, type RegistryCredentials, RegistryError, sha256Digest } from './registry.client';
