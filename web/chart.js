// The plotting library (Chart.js from npm, bundled into quant-playground.js), registered once for every panel.
import { Chart, Interaction, registerables } from 'chart.js';

Chart.register(...registerables);
export { Chart, Interaction };
