import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error

const base: string[] = ['wasm'];
export async function open(model: string, gpu: boolean) {
  if (base.includes('webgpu')) console.log('webgpu listed');
  const providers = gpu ? [...base, 'webgpu'] : base;
  return ort.InferenceSession.create(model, { executionProviders: providers });
}
