// Charts drawn from the site's own JSON with the locally served Apache ECharts.
//
// <div class="mp-chart" data-chart-src="/dashboard/districts/data.json?district=yuzhong" data-table="funnel"></div>
//
// The JSON is {"tables": [{key, title, chart, series, columns: [{key, label, format}],
// rows: [{key, label, cells: {column: {value, display, url}}}]}]}. Each data source is fetched
// once per page; every bar, slice and point links to the records behind it (click to open).
(function () {
  'use strict';
  if (typeof echarts === 'undefined') { return; }

  var FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", sans-serif';
  var COLORS = ['#0b4a8b', '#2b8ad8', '#f0a020', '#2e9d6a', '#b3261e', '#7b5bb6', '#5ab1c6', '#8c8c8c', '#d4652f'];
  var zh = document.documentElement.lang !== 'en';
  var TEXT = {
    empty: zh ? '暂无数据' : 'No data',
    failed: zh ? '图表数据加载失败，请查看下方表格。' : 'The chart could not be loaded; see the table.'
  };
  var sources = {};

  function load(url) {
    if (!sources[url]) {
      sources[url] = fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (response) {
          if (!response.ok) { throw new Error('HTTP ' + response.status); }
          return response.json();
        });
    }
    return sources[url];
  }

  function columnsOf(table) {
    return table.columns.filter(function (c) { return table.series.indexOf(c.key) !== -1; });
  }

  function unit(column) {
    return column.format === 'percent' ? '%' : '';
  }

  function point(row, column) {
    var cell = row.cells[column.key] || {};
    return {value: cell.value === null ? '-' : cell.value, url: cell.url, display: cell.display};
  }

  // Labels come from user data (batch, organisation and scenario names): ECharts renders a tooltip
  // formatter's string as HTML, so every piece of text is escaped here. Canvas labels are not HTML.
  function escapeHtml(value) {
    return String(value === undefined || value === null ? '' : value).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function tooltipFormatter(params) {
    var list = Array.isArray(params) ? params : [params];
    var head = list.length ? (list[0].axisValueLabel || list[0].name) : '';
    return [escapeHtml(head)].concat(list.map(function (p) {
      var shown = p.data && p.data.display !== undefined ? p.data.display : p.value;
      // p.marker is the coloured dot ECharts builds itself (no user text).
      return p.marker + (p.seriesName && list.length > 1 ? escapeHtml(p.seriesName) + '：' : '') + escapeHtml(shown);
    })).join('<br>');
  }

  function pieOption(table, column, funnel) {
    var data = table.rows.map(function (row, index) {
      var p = point(row, column);
      p.name = row.label;
      p.itemStyle = {color: COLORS[index % COLORS.length]};  // a status keeps its colour when others are empty
      return p;
    });
    if (!funnel) {
      // Empty slices only draw stray label lines; the table lists every status, zeros included.
      data = data.filter(function (p) { return p.value > 0; });
    }
    var series = funnel ? {
      type: 'funnel', left: '8%', width: '62%', top: 10, bottom: 10, sort: 'none', minSize: '12%', gap: 2,
      label: {show: true, position: 'right', formatter: function (p) { return p.name + '  ' + p.data.display; }},
      data: data
    } : {
      type: 'pie', radius: ['38%', '68%'], center: ['50%', '50%'], avoidLabelOverlap: true,
      label: {formatter: function (p) { return p.name + '\n' + p.data.display; }},
      data: data
    };
    return {
      tooltip: {trigger: 'item', formatter: tooltipFormatter},
      series: [series]
    };
  }

  function axisOption(table) {
    var columns = columnsOf(table);
    var labels = table.rows.map(function (row) { return row.label; });
    var horizontal = table.chart !== 'line' && labels.length > 6;
    var percent = columns.length && columns.every(function (c) { return c.format === 'percent'; });
    var categoryAxis = {type: 'category', data: labels, axisTick: {alignWithLabel: true},
      // Long names (batches) wrap beside horizontal bars; under vertical ones they are cut, the axis tooltip has them whole.
      axisLabel: horizontal ? {width: 160, overflow: 'break', lineHeight: 14}
        : {interval: 0, rotate: labels.length > 4 ? 30 : 0, width: 110, overflow: 'truncate'}};
    if (horizontal) { categoryAxis.inverse = true; }
    var valueAxis = {type: 'value', minInterval: percent ? 0 : 1,
      axisLabel: {formatter: percent ? '{value}%' : '{value}'}};
    if (percent) { valueAxis.max = 100; }
    return {
      tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}, formatter: tooltipFormatter},
      legend: columns.length > 1 ? {type: 'scroll', top: 0} : undefined,
      grid: {left: 8, right: 24, top: columns.length > 1 ? 36 : 16, bottom: 8, containLabel: true},
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series: columns.map(function (column) {
        return {
          name: column.label + (unit(column) ? '（' + unit(column) + '）' : ''),
          type: table.chart === 'line' ? 'line' : 'bar',
          stack: table.chart === 'stacked' ? 'total' : undefined,
          barMaxWidth: 28,
          emphasis: {focus: 'series'},
          data: table.rows.map(function (row) { return point(row, column); })
        };
      })
    };
  }

  function optionFor(table) {
    var columns = columnsOf(table);
    var base;
    if (table.chart === 'pie' || table.chart === 'funnel') {
      base = pieOption(table, columns[0], table.chart === 'funnel');
    } else {
      base = axisOption(table);
    }
    base.color = COLORS;
    base.textStyle = {fontFamily: FONT};
    base.aria = {enabled: true};
    base.animationDuration = 400;
    return base;
  }

  function message(el, text) {
    el.classList.add('mp-chart-message');
    el.style.display = 'flex';
    el.style.alignItems = 'center';
    el.style.justifyContent = 'center';
    el.style.color = '#6c757d';
    el.textContent = text;
  }

  function draw(el, table) {
    if (!table || !table.rows.length) { message(el, TEXT.empty); return; }
    var chart = echarts.init(el, null, {renderer: 'canvas', locale: zh ? 'ZH' : 'EN'});
    chart.setOption(optionFor(table));
    chart.on('click', function (params) {
      if (params.data && params.data.url) { window.location.href = params.data.url; }
    });
    chart.getZr().on('mousemove', function (event) {
      chart.getZr().setCursorStyle(event.target ? 'pointer' : 'default');
    });
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(function () { chart.resize(); }).observe(el);
    } else {
      window.addEventListener('resize', function () { chart.resize(); });
    }
    el.dataset.rendered = 'true';
  }

  document.querySelectorAll('.mp-chart[data-chart-src]').forEach(function (el) {
    load(el.dataset.chartSrc).then(function (data) {
      var table = (data.tables || []).filter(function (t) { return t.key === el.dataset.table; })[0];
      draw(el, table);
    }).catch(function () { message(el, TEXT.failed); });
  });
})();
