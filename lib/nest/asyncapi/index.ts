export {
  AsyncApiOperation,
  type AsyncApiOperationOptions,
  type AsyncApiPayload,
  type AsyncApiPublisher,
  AsyncApiPublishes,
  type AsyncApiPublishesOptions,
  type JsonSchema,
  MqttAsyncPublishes,
} from './decorators.js';
export { createAsyncApiDocument } from './document.js';
export { type AsyncApiHtmlOptions, renderAsyncApiHtml, renderAsyncApiPage } from './html.js';
export { AsyncApiModule, type AsyncApiSetupOptions } from './module.js';
export type * from './types.js';
