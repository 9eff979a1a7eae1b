import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../assert.ts";
import { FhirInputError, fhirToObservations, LOINC_CHANNELS } from "../../src/features/fhir.ts";
import { REFERENCE_CONFIG } from "../../src/features/discretizer_config.ts";
import { encodeObservation } from "../../src/features/observation.ts";

const T = "2024-05-01T08:00:00Z";

function obs(code: string, value: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    resourceType: "Observation",
    status: "final",
    code: { coding: [{ system: "http://loinc.org", code }] },
    effectiveDateTime: T,
    ...value,
    ...extra,
  };
}

function qty(value: number, code?: string) {
  return {
    valueQuantity: code === undefined
      ? { value }
      : { value, system: "http://unitsofmeasure.org", code },
  };
}

function one(resource: unknown) {
  const { observations } = fhirToObservations(resource);
  assertEquals(observations.length, 1);
  return observations[0]!;
}

Deno.test("every mapped LOINC channel exists in the discretizer", () => {
  for (const { channel } of Object.values(LOINC_CHANNELS)) {
    assert(REFERENCE_CONFIG.channelIndex.has(channel), channel);
  }
});

Deno.test("quantities are converted from UCUM units", () => {
  const cases: [string, number, string, string, number][] = [
    ["8867-4", 92, "/min", "Heart Rate", 92],
    ["8867-4", 92, "{beats}/min", "Heart Rate", 92],
    ["8480-6", 121, "mm[Hg]", "Systolic blood pressure", 121],
    ["8462-4", 61, "mm[Hg]", "Diastolic blood pressure", 61],
    ["8478-0", 80, "mm[Hg]", "Mean blood pressure", 80],
    ["9279-1", 18, "/min", "Respiratory rate", 18],
    ["2708-6", 97, "%", "Oxygen saturation", 97],
    ["59408-5", 95, "%", "Oxygen saturation", 95],
    ["8310-5", 37.5, "Cel", "Temperature", 37.5],
    ["8310-5", 98.6, "[degF]", "Temperature", 37],
    ["29463-7", 80, "kg", "Weight", 80],
    ["29463-7", 176.37, "[lb_av]", "Weight", 80],
    ["29463-7", 80000, "g", "Weight", 80],
    ["8302-2", 170, "cm", "Height", 170],
    ["8302-2", 70, "[in_i]", "Height", 177.8],
    ["8302-2", 1.7, "m", "Height", 170],
    ["2345-7", 110, "mg/dL", "Glucose", 110],
    ["2339-0", 5.5, "mmol/L", "Glucose", 99.088],
    ["2744-1", 7.38, "[pH]", "pH", 7.38],
    ["3150-0", 40, "%", "Fraction inspired oxygen", 0.4],
    ["3150-0", 0.5, "1", "Fraction inspired oxygen", 0.5],
  ];
  for (const [code, value, unit, channel, expected] of cases) {
    const o = one(obs(code, qty(value, unit)));
    assertEquals(o.channel, channel, code);
    assertEquals(o.time, "2024-05-01T08:00:00.000Z");
    assertAlmostEquals(o.value as number, expected, 1e-3, `${code} ${unit}`);
  }
  // pH and FiO2 may come without a unit.
  assertEquals(one(obs("2744-1", qty(7.4))).value, 7.4);
  // `unit` is used when `code` is absent.
  assertEquals(one(obs("8867-4", { valueQuantity: { value: 70, unit: "/min" } })).value, 70);
});

Deno.test("Glasgow coma scale and capillary refill map to the discretizer's categories", () => {
  const cases: [string, Record<string, unknown>, string | number][] = [
    ["9269-2", qty(14), "14"],
    ["9269-2", { valueString: "9" }, "9"],
    ["9267-6", qty(4), "4 Spontaneously"],
    ["9267-6", { valueString: "To pain" }, "2 To pain"],
    ["9267-6", {
      valueCodeableConcept: { coding: [{ system: "http://loinc.org", code: "LA6555-2" }] },
    }, "3 To speech"],
    ["9270-0", qty(5), "5 Oriented"],
    ["9270-0", { valueString: "Confused" }, "4 Confused"],
    ["9270-0", { valueString: "No Response-ETT" }, "1.0 ET/Trach"],
    ["9270-0", { valueCodeableConcept: { text: "Incomprehensible sounds" } }, "2 Incomp sounds"],
    ["9268-4", qty(6), "6 Obeys Commands"],
    ["9268-4", { valueString: "Localizes Pain" }, "5 Localizes Pain"],
    [
      "9268-4",
      { valueCodeableConcept: { coding: [{ code: "LA6563-6", display: "Extension" }] } },
      "2 Abnorm extensn",
    ],
    ["44963-7", { valueString: "Normal <3 secs" }, "0.0"],
    ["44963-7", { valueString: "Abnormal >3 secs" }, "1.0"],
    ["44963-7", qty(4, "s"), "1.0"],
    ["44963-7", qty(2, "s"), "0.0"],
  ];
  for (const [code, value, expected] of cases) {
    const o = one(obs(code, value));
    assertEquals(o.value, expected, `${code} ${JSON.stringify(value)}`);
    // The discretizer accepts every mapped value.
    encodeObservation(REFERENCE_CONFIG, { hours: 1, channel: o.channel, value: o.value });
  }
});

Deno.test("blood-pressure panels give one observation per component", () => {
  const panel = obs("85354-9", {}, {
    id: "bp1",
    component: [
      { code: { coding: [{ system: "http://loinc.org", code: "8480-6" }] }, ...qty(130, "mm[Hg]") },
      { code: { coding: [{ system: "http://loinc.org", code: "8462-4" }] }, ...qty(70, "mm[Hg]") },
    ],
  });
  const { observations } = fhirToObservations(panel);
  assertEquals(observations.map((o) => [o.channel, o.value, o.eventId]), [
    ["Systolic blood pressure", 130, "bp1/8480-6"],
    ["Diastolic blood pressure", 70, "bp1/8462-4"],
  ]);
});

Deno.test("bundles: event ids, effective time variants, skipped statuses", () => {
  const bundle = {
    resourceType: "Bundle",
    type: "collection",
    entry: [
      { resource: obs("8867-4", qty(80, "/min"), { id: "a" }) },
      { resource: obs("8867-4", qty(81, "/min"), { status: "entered-in-error" }) },
      {
        resource: {
          ...obs("9279-1", qty(20, "/min")),
          effectiveDateTime: undefined,
          effectivePeriod: { start: "2024-05-01T09:30:00+02:00" },
        },
      },
    ],
  };
  const { observations, skipped } = fhirToObservations(bundle);
  assertEquals(skipped, 1);
  assertEquals(observations.length, 2);
  assertEquals(observations[0]!.eventId, "a");
  assertEquals(observations[1]!.time, "2024-05-01T07:30:00.000Z");
});

Deno.test("unmappable input is refused with the offending field", () => {
  const bad = (resource: unknown, field: string) => {
    const e = assertThrows(() => fhirToObservations(resource), FhirInputError);
    assertEquals(e.field, field, e.message);
  };
  const bundle = (...resources: unknown[]) => ({
    resourceType: "Bundle",
    entry: resources.map((resource) => ({ resource })),
  });
  bad(
    bundle(obs("8867-4", qty(80, "/min")), obs("8867-4", qty(80, "/min")), obs("1234-5", qty(1))),
    "entry[2].resource.code",
  );
  bad(obs("8310-5", qty(37, "mg")), "valueQuantity.code");
  bad(obs("8310-5", { valueQuantity: { value: 37, unit: "degrees" } }), "valueQuantity.unit");
  bad(obs("8867-4", { valueQuantity: { value: "fast", code: "/min" } }), "valueQuantity.value");
  bad(obs("8867-4", { valueString: "fast" }), "valueQuantity");
  bad(obs("8867-4", qty(80, "/min"), { effectiveDateTime: "2024-05-01" }), "effectiveDateTime");
  bad(obs("8867-4", qty(80, "/min"), { effectiveDateTime: undefined }), "effectiveDateTime");
  bad(obs("9267-6", qty(7)), "valueQuantity.value");
  bad(obs("9268-4", { valueString: "dancing" }), "valueString");
  bad({ resourceType: "Patient" }, "resourceType");
  bad(bundle({ resourceType: "Patient" }), "entry[0].resource.resourceType");
  bad({ resourceType: "Bundle" }, "entry");
  bad(
    obs("85354-9", {}, {
      component: [{ code: { coding: [{ code: "0000-0" }] }, ...qty(1, "mm[Hg]") }],
    }),
    "component[0].code",
  );
  bad([1, 2], "resourceType");
  bad({ resourceType: "Observation", effectiveDateTime: T, code: {} }, "code");
});
