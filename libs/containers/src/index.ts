export { dockerClient, engineCandidates, engineMessage,
  followEngineProgress, findContainerEngine, infraboxPodmanSocket,
  NO_ENGINE_WARNING, startPodmanService, type ContainerEngine } from './container-engine';
