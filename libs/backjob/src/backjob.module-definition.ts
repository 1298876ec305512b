import { ConfigurableModuleBuilder } from '@nestjs/common';
import { BACKJOB_MODULE_OPTIONS } from './backjob.constants.js';
import { BACKJOB_DEFAULTS } from './backjob.options.js';
import { defineBackJobModule } from './backjob.providers.js';
import type {
  BackJobModuleExtras,
  BackJobModuleOptions,
} from './interfaces/backjob-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableBackJobModule,
  OPTIONS_TYPE: BACKJOB_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: BACKJOB_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BackJobModuleOptions>({
  optionsInjectionToken: BACKJOB_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<BackJobModuleExtras>(
    {
      isGlobal: BACKJOB_DEFAULTS.isGlobal,
      useDb: BACKJOB_DEFAULTS.useDb,
      tableName: BACKJOB_DEFAULTS.tableName,
    },
    defineBackJobModule,
  )
  .build();
