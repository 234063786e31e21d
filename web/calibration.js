// The calibration-data picker a panel shows: seeded random inputs (a sample count) or images the reader chooses,
// preprocessed with the Run panel's image settings and handed to the worker under the panel's own name, so panels
// never see each other's data. Expects, with `prefix` (e.g. 'an'): #PREFIX-data (select random|images),
// #PREFIX-samples, #PREFIX-images (button), #PREFIX-images-input (file input), #PREFIX-data-info, and the panel's form
// carrying the class `images` while images are selected (CSS hides the fields that do not apply).
import { wholeNumber } from './dom.js';

export function createCalibration({ $, prefix, name, form, engine, imagePreprocess, maxSamples = 256 }) {
  const cs = {
    images: [],     // File objects chosen
    sentKey: null,  // what the worker holds under `name` (images, preprocessing, worker generation, model)
    sentModel: null,
  };
  const id = (s) => `${prefix}-${s}`;

  const samplesField = () => wholeNumber($(id('samples')), 1, maxSamples, 'Samples');

  const usesImages = () => $(id('data')).value === 'images';

  // The `calibration` argument of the worker calls; throws a message for the reader when images are missing.
  function read() {
    if (!usesImages()) return { samples: samplesField(), seed: 1 };
    if (!cs.images.length) throw new Error('choose the calibration images first (Images: Choose…), or use random data');
    return { data: 'set', name };
  }

  // Before a call with read()'s result: the images go to the worker once per set, preprocessing, worker and model.
  async function prepare(calibration, model) {
    if (calibration.data !== 'set') return;
    const prep = imagePreprocess();
    const key = JSON.stringify([cs.images.map((f) => [f.name, f.size, f.lastModified]), prep.settings, engine.epoch || 0]);
    if (key === cs.sentKey && cs.sentModel === model && engine.model === model) return;
    const samples = await prep.samples(cs.images);
    const names = cs.images.map((f) => f.name);
    const source = `${names.length} image${names.length === 1 ? '' : 's'} (${names.slice(0, 3).join(', ')}`
      + `${names.length > 3 ? ', …' : ''}; ${prep.describe})`;
    await engine.hold(model);
    await engine.request({ type: 'setCalibration', samples, info: { source, name } }, null,
      samples.flatMap((smp) => Object.values(smp).map((t) => t.data.buffer)));
    cs.sentKey = key;
    cs.sentModel = model;
    $(id('data-info')).textContent = `Calibration: ${source}.`;
  }

  function show() {
    form.classList.toggle('images', usesImages());
    const n = cs.images.length;
    if (!n) {
      $(id('data-info')).textContent = 'No images chosen: they are preprocessed with the Run panel\'s image settings '
        + '(size, channels, scale, mean/std, fit).';
    } else if (!cs.sentKey) {
      $(id('data-info')).textContent = `${n} image${n === 1 ? '' : 's'} chosen; preprocessed with the Run panel's image `
        + 'settings when the work starts.';
    }
  }

  // A new model starts without data in the worker.
  function reset() {
    cs.sentKey = null;
    cs.sentModel = null;
    show();
  }

  $(id('data')).addEventListener('change', show);
  const input = $(id('images-input'));
  $(id('images')).addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    cs.images = [...input.files];
    input.value = '';
    cs.sentKey = null;
    show();
  });
  show();

  return { read, prepare, reset };
}
