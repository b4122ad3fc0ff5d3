export { FakeApiServer, type FakeApiServerOptions, type LoggedRequest } from './server.js';
export { kubeConfigFor } from './kubeconfig.js';
export type { FakeObject } from './selectors.js';
