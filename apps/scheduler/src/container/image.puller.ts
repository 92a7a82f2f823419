import type Docker from 'dockerode';
import type { PullPolicy } from '@infrabox/config';
import { engineMessage, followEngineProgress, type RegistryCredentials } from '@infrabox/containers';

/**
 * Makes a job's image present on the engine before its container is created, by the cluster's
 * pull policy: `if-not-present` (the default) pulls only a missing image, `always` pulls every
 * time, `never` only uses what is there. A failure is said in the job's words.
 */
export class ImagePuller {
  /** Pulls under way, by image: jobs of one image wait for the same pull. */
  private readonly pulls = new Map<string, Promise<string | null>>();

  constructor(
    private readonly docker: Docker,
    private readonly policy: PullPolicy,
  ) {}

  /** `credentials`: for the registry the image's name starts with (this cluster's, for built images). */
  async ensure(image: string, signal: AbortSignal, credentials?: RegistryCredentials): Promise<{ name: string } | { error: string }> {
    if (this.policy !== 'always' && (await this.present(image))) return { name: image };
    if (this.policy === 'never') return { error: `image '${image}' is not on this cluster's container engine, and the pull policy is 'never'` };
    let pull = this.pulls.get(image);
    if (!pull) {
      pull = this.pull(image, credentials).finally(() => this.pulls.delete(image));
      this.pulls.set(image, pull);
    }
    const failure = await Promise.race([pull, new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve('aborted while pulling'), { once: true }))]);
    return failure ? { error: `pulling image '${image}' failed: ${failure}` } : { name: image };
  }

  private async present(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  /** Null when pulled; else the reason. */
  private async pull(image: string, credentials: RegistryCredentials | undefined): Promise<string | null> {
    try {
      const serveraddress = image.split('/')[0];
      const stream = await this.docker.pull(image, credentials ? { authconfig: { ...credentials, serveraddress } } : {});
      await followEngineProgress(this.docker, stream);
      return (await this.present(image)) ? null : 'the engine reported no error, but the image is not there';
    } catch (error) {
      return engineMessage(error);
    }
  }
}
