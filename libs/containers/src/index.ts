export { dockerClient, engineCandidates, engineMessage, findContainerEngine, infraboxPodmanSocket,
  NO_ENGINE_WARNING, startPodmanService, type ContainerEngine } from './container-engine';
