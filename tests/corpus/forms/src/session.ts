export const providers = { executionProviders: ['webgpu', 'wasm'] };
