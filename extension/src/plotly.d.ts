/** plotly.js-dist-min ships no types; the panel uses `react` and `purge` (views/chart.tsx). */
declare module 'plotly.js-dist-min';
