// Export helpers the walk and bounce webviews share: theme colours read from
// the --vscode-* variables (so an exported picture looks like the panel), and
// an SVG turned into a PNG through a canvas. The host writes the file.

/** A theme colour, or `fallback` outside VS Code. */
export function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** XML-escaped text for SVG content and attributes. */
export function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Renders an SVG document to a PNG data URL (the image loads from a data: URL, which the panels' CSP allows). */
export function svgToPng(svg: string, width: number, height: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.ceil(width));
      canvas.height = Math.max(1, Math.ceil(height));
      const ctx = canvas.getContext('2d');
      if (!ctx) return reject(new Error('no 2D canvas'));
      ctx.drawImage(img, 0, 0);
      resolve(canvas.toDataURL('image/png'));
    };
    img.onerror = () => reject(new Error('the SVG did not render'));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  });
}
