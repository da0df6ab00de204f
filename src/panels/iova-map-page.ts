// The IOVA map panel's static markup (no run data: that comes by message).
// Apart from the host so the bench can load the real webview bundle in a
// browser without VS Code. Controls are @vscode/webview-ui-toolkit elements,
// registered by webview/common/toolkit.ts.

export const IOVA_MAP_BODY = `<div class="bar" role="toolbar" aria-label="Position, domain, zoom, comparison and export">
<vscode-button id="prev" appearance="icon" aria-label="Previous statement" title="Previous statement">◀</vscode-button>
<span id="pos" role="status" aria-live="polite"></span>
<vscode-button id="next" appearance="icon" aria-label="Next statement" title="Next statement">▶</vscode-button>
<label for="domain">Domain</label>
<vscode-dropdown id="domain" aria-label="IOMMU domain"></vscode-dropdown>
<vscode-button id="zoom-in" appearance="secondary" aria-label="Zoom in (+)" title="Zoom in (+)">+</vscode-button>
<vscode-button id="zoom-out" appearance="secondary" aria-label="Zoom out (-)" title="Zoom out (-)">−</vscode-button>
<vscode-button id="zoom-fit" appearance="secondary" aria-label="Show the whole aperture (Home)" title="Show the whole aperture (Home)">Aperture</vscode-button>
<vscode-button id="compare-pin" appearance="secondary" aria-label="Compare later positions with this one">Compare from here</vscode-button>
<vscode-button id="compare-clear" appearance="secondary" aria-label="Stop comparing" hidden>Stop comparing</vscode-button>
<vscode-button id="export-svg" appearance="secondary" aria-label="Export the view as SVG">SVG</vscode-button>
<vscode-button id="export-png" appearance="secondary" aria-label="Export the view as PNG">PNG</vscode-button>
<vscode-button id="export-json" appearance="secondary" aria-label="Export the domain's data as JSON">JSON</vscode-button>
<span id="status" role="status"></span>
</div>
<p id="info" aria-live="polite"></p>
<div id="views">
<section id="iova-view" aria-label="IOVA space">
<h2>IOVA space</h2>
<canvas id="map" tabindex="0" role="img" aria-label="IOVA map"></canvas>
<div class="legend" aria-hidden="true"><span class="k-r">read</span><span class="k-w">write</span><span class="k-rw">read/write</span><span class="k-none">no access</span><span class="k-mmio">MMIO</span><span class="k-alloc">IOVA allocation</span><span class="k-cached">in rcache</span><span class="k-fq">flush queue</span><span class="k-change">this event</span><span class="k-boundary">4 GiB</span></div>
</section>
<section id="phys-view" aria-label="Physical memory">
<h2>Physical memory</h2>
<canvas id="phys" tabindex="0" role="img" aria-label="Physical view"></canvas>
<div class="legend" aria-hidden="true"><span class="k-rw">mapped</span><span class="k-exposed">reachable outside its buffer (granule rounding)</span></div>
</section>
</div>
<p id="selection" aria-live="polite" class="hint">Keys on the map: + and - zoom, arrows pan, Home shows the whole aperture, [ and ] select the previous or next mapping, Enter goes to its line.</p>
<section id="changes" aria-label="Changes">
<h2 id="changes-title">Changes</h2>
<vscode-data-grid id="changes-grid" aria-label="Mapped, unmapped and changed ranges" grid-template-columns="10ch 20ch 12ch 1fr 1fr"></vscode-data-grid>
</section>
<section id="findings" aria-label="Granule exposure findings">
<h2 id="findings-title">Granule exposure</h2>
<vscode-data-grid id="findings-grid" aria-label="Bytes a device can reach outside its buffer" grid-template-columns="18ch 10ch 24ch 10ch 8ch"></vscode-data-grid>
<h2 id="sanitizer-title">DMA sanitizer</h2>
<vscode-data-grid id="sanitizer-grid" aria-label="DMA sanitizer findings at this domain's IOVAs: click a row, or Enter in it, to go to its line" title="Click a finding (or Enter) to go to its line" grid-template-columns="22ch 16ch 8ch 1fr"></vscode-data-grid>
</section>
<div id="tooltip" role="tooltip" hidden></div>`;
