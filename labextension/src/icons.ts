import { LabIcon } from '@jupyterlab/ui-components';

/**
 * The LabCycle mark: a flask inside a cycle of two arrows.
 *
 * `jp-icon3` lets JupyterLab recolour it for the light and dark themes.
 */
const LABCYCLE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 3A9 9 0 0 1 20.5 9H23L19.5 13L16 9H17.8A6.5 6.5 0 0 0 5.7 10.4L3.3 9.7A9 9 0 0 1 12 3Z"/>
    <path d="M12 21A9 9 0 0 1 3.5 15H1L4.5 11L8 15H6.2A6.5 6.5 0 0 0 18.3 13.6L20.7 14.3A9 9 0 0 1 12 21Z"/>
    <path d="M10.8 8.2h2.4v.9h-.4v2.1l2.3 3.9c.35.6-.1 1.3-.8 1.3h-4.6c-.7 0-1.15-.7-.8-1.3l2.3-3.9V9.1h-.4z"/>
  </g>
</svg>`;

export const labcycleIcon = new LabIcon({
  name: 'labcycle:logo',
  svgstr: LABCYCLE_SVG
});
