import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { INSTALL_CONFIG, InjectInstallConfig, type InstallConfig, InstallConfigModule, loadInstallConfig } from '.';

@Injectable()
class NeedsConfig {
  constructor(@InjectInstallConfig() readonly config: InstallConfig) {}
}

// A separate module proves the config is visible without importing InstallConfigModule (global).
@Module({ providers: [NeedsConfig] })
class FeatureModule {}

it('provides the config globally under INSTALL_CONFIG', async () => {
  const config = loadInstallConfig({ env: {}, cwd: '/srv' });
  const moduleRef = await Test.createTestingModule({
    imports: [InstallConfigModule.forRoot(config), FeatureModule],
  }).compile();

  expect(moduleRef.get(INSTALL_CONFIG)).toBe(config);
  expect(moduleRef.get(NeedsConfig).config).toBe(config);
  await moduleRef.close();
});
