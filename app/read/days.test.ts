import { describe, expect, it } from "vitest";
import { addDays, dayOf, startOfDay } from "./days.js";

describe("days in a time zone", () => {
  it("puts an instant on the viewer's calendar day", () => {
    const t = new Date("2030-03-09T23:30:00Z");
    expect(dayOf(t, "UTC")).toBe("2030-03-09");
    expect(dayOf(t, "Europe/Berlin")).toBe("2030-03-10");
    expect(dayOf(t, "America/Los_Angeles")).toBe("2030-03-09");
    expect(dayOf(new Date("2030-03-10T06:00:00Z"), "America/Los_Angeles")).toBe("2030-03-09");
  });

  it("finds a day's midnight, also on a daylight-saving change", () => {
    expect(startOfDay("2030-03-10", "UTC").toISOString()).toBe("2030-03-10T00:00:00.000Z");
    expect(startOfDay("2030-03-10", "Europe/Berlin").toISOString()).toBe("2030-03-09T23:00:00.000Z");
    // US clocks go forward on 2030-03-10: midnight is still PST (UTC−8).
    expect(startOfDay("2030-03-10", "America/Los_Angeles").toISOString()).toBe("2030-03-10T08:00:00.000Z");
    expect(startOfDay("2030-03-11", "America/Los_Angeles").toISOString()).toBe("2030-03-11T07:00:00.000Z");
    expect(startOfDay("2030-01-01", "Asia/Kolkata").toISOString()).toBe("2029-12-31T18:30:00.000Z");
  });

  it("counts calendar days", () => {
    expect(addDays("2030-03-01", -1)).toBe("2030-02-28");
    expect(addDays("2030-12-31", 1)).toBe("2031-01-01");
  });
});
