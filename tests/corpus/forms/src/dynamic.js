export async function load() {
	const ort = await import(/* webpackChunkName: "ort" */ 'onnxruntime-web'); // ortfix-expect: jsep-import error
  const later = import('onnxruntime-web'); // ortfix-expect: jsep-import error
  return [ort, later];
}
