/** The daily chart: total fare (left axis) and average fare (right axis) per day, Chart.js. */

import { addDays, daysInRange } from "@trip-pipeline/core/dashboard/api";
import type { DailyKpi } from "@trip-pipeline/core/kpi/daily-kpis";
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { formatKpi } from "./format.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

export class DailyChart {
  private readonly chart: Chart<"line", (number | null)[], string>;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: [],
        datasets: [
          {
            label: "Total fare",
            data: [],
            yAxisID: "total",
            borderColor: "#1d4ed8",
            backgroundColor: "#1d4ed8",
            tension: 0.2,
            pointRadius: 4,
          },
          {
            label: "Average fare",
            data: [],
            yAxisID: "average",
            borderColor: "#b45309",
            backgroundColor: "#b45309",
            borderDash: [6, 4],
            tension: 0.2,
            pointStyle: "rectRot",
            pointRadius: 5,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          total: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "Total fare" } },
          average: {
            type: "linear",
            position: "right",
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            title: { display: true, text: "Average fare" },
          },
        },
        plugins: {
          // Point markers in the legend: a dashed line's legend box renders as a hatched block.
          legend: { labels: { usePointStyle: true, pointStyleWidth: 18 } },
          tooltip: {
            // The tooltip shows the API's exact text, not the plotted number.
            callbacks: {
              label: (item) =>
                `${item.dataset.label}: ${formatKpi(this.rows[item.dataIndex]?.[item.datasetIndex === 0 ? "total_fare" : "average_fare"])}`,
            },
          },
        },
      },
    });
  }

  private rows: (DailyKpi | undefined)[] = [];

  /** Names the currency in the series and axis titles. */
  setCurrency(code: string): void {
    const [total, average] = this.chart.data.datasets;
    total!.label = `Total fare (${code})`;
    average!.label = `Average fare (${code})`;
    const scales = this.chart.options.scales as Record<string, { title?: { text?: string } }>;
    scales.total!.title!.text = total!.label;
    scales.average!.title!.text = average!.label;
    this.chart.update();
  }

  /** Every day of the range on the axis; a day without a nightly row is a gap. */
  show(from: string, to: string, rows: DailyKpi[]): void {
    const byDay = new Map(rows.map((row) => [row.pickup_date, row]));
    const days = Array.from({ length: Math.max(0, daysInRange(from, to)) }, (_, i) => addDays(from, i));
    this.rows = days.map((day) => byDay.get(day));
    this.chart.data.labels = days;
    // Plotting needs numbers; every figure shown as text stays the exact decimal.
    this.chart.data.datasets[0]!.data = this.rows.map((row) => (row ? Number(row.total_fare) : null));
    this.chart.data.datasets[1]!.data = this.rows.map((row) => (row ? Number(row.average_fare) : null));
    this.chart.update();
  }
}
