// import * as ort from 'onnxruntime-web';
/* require('onnxruntime-web') */
const name = 'onnxruntime-web';
const template = `import('onnxruntime-web')`;
const lookalike = require('onnxruntime-web-foo');
const common = require('onnxruntime-common');
const node = require('onnxruntime-node');
import wasm from 'onnxruntime-web/wasm';
import webgl from 'onnxruntime-web/webgl';
import native from 'onnxruntime-web/webgpu'; // ortfix-expect: mixed-entry warning
jest.mock('onnxruntime-web');
export { name, template, lookalike, common, node, wasm, webgl, native };
