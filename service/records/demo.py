"""Synthetic demo records: households of linked people, their civil-status events, driving
licences, passports, social insurance and household businesses.

Everything is made up but shaped like the real thing: Vietnamese names with diacritics, 12-digit
personal ID numbers that follow the real structure (three digits of the province where the
birth was registered, a digit for the century and sex, two digits of the birth year, six
digits), communes of the current official list, and consistent family links (a child's parents
are a couple of the same household; spouses point at each other). Generation is seeded, so the
same seed always gives the same people, and the two demo citizens named in the README are the
same in every set, as are the families around them that show the registers' harder cases: a
deceased relative (the demo father's mother, her death recorded), a ward under the demo
father's guardianship, and a child born out of wedlock, linked to the mother only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from forms import units

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Anh"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Mai", "Phương", "Thị Thu", "Hồng"]
GIVEN_MALE = ["An", "Bảo", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Khôi", "Long", "Minh",
              "Nam", "Phúc", "Quang", "Sơn", "Thắng", "Tuấn", "Việt", "Vinh"]
GIVEN_FEMALE = ["Anh", "Bình", "Chi", "Dung", "Giang", "Hà", "Hân", "Hương", "Lan", "Linh",
                "Mai", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Trang", "Yến"]
OCCUPATIONS = ["Công nhân", "Giáo viên", "Kỹ sư", "Nông dân", "Buôn bán", "Nhân viên văn phòng",
               "Bác sĩ", "Lái xe"]
BUSINESS_LINES = ["Bán lẻ thực phẩm", "Dịch vụ ăn uống", "Sửa chữa xe máy", "May mặc",
                  "Bán lẻ điện thoại"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt",
           "Phan Chu Trinh", "Quang Trung", "Hùng Vương"]
TODAY = date(2026, 11, 1)  # a fixed "today" keeps ages, and so the data, reproducible

#: The two demo citizens named in the README: a married father of two with a household
#: business, and a young woman who is not married and lives in her parents' household.
DEMO_FATHER = "001085012345"
DEMO_DAUGHTER = "079199054321"
#: the agency of the development set-up (make run): the ward of Ba Đình, Hà Nội
DEMO_AGENCY = "UBND-00004"
#: the demo father's late mother: her death is recorded (population and civil status)
DEMO_DECEASED = "001158023456"
#: an orphan under the demo father's guardianship, living in a household of his own
DEMO_WARD = "001213067890"
#: a mother who is not married, and her son, whose record links to her only
DEMO_MOTHER = "048196011223"
DEMO_CHILD_OUT_OF_WEDLOCK = "048222033445"
FIXED_IDS = {DEMO_FATHER, DEMO_DAUGHTER, DEMO_DECEASED, DEMO_WARD, DEMO_MOTHER,
             DEMO_CHILD_OUT_OF_WEDLOCK}


@dataclass
class Person:
    personal_id: str
    surname: str
    given_names: str
    sex: str
    birth_date: date
    birth_unit: tuple[str, str]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.surname} {self.given_names}"


@dataclass
class DemoSet:
    records: dict[str, list[tuple[str, dict[str, Any]]]] = field(
        default_factory=lambda: {r: [] for r in ("population", "civil_status", "driving_licence",
                                                 "passport", "social_insurance", "business")})

    def add(self, register: str, subject: str, data: dict[str, Any]) -> None:
        self.records[register].append((subject, data))

    def count(self) -> int:
        return sum(len(v) for v in self.records.values())


class Generator:
    def __init__(self, seed: int = 2026):
        self.rng = random.Random(seed)
        #: the fixed families' own draws, and the values of fields added to the vocabulary
        #: later: the random households stay the same people whatever is added
        self.extra = random.Random(seed * 7919 + 1)
        self.used: set[str] = set(FIXED_IDS)
        self.provinces = units.provinces()
        self.province_names = {p.code: p.name for p in self.provinces}

    # -- building blocks ------------------------------------------------------------------
    def unit(self, province: str | None = None) -> tuple[str, str]:
        code = province or self.rng.choice(self.provinces).code
        commune = self.rng.choice(units.communes_by_province()[code])
        return code, commune.code

    def address(self, unit: tuple[str, str], detail: bool = True) -> dict[str, str]:
        out = {"province": unit[0], "commune": unit[1]}
        if detail:
            out["detail"] = f"Số {self.rng.randint(1, 300)}, đường {self.rng.choice(STREETS)}"
        return out

    def personal_id(self, province: str, sex: str, born: date) -> str:
        century = 0 if born.year < 2000 else 2
        digit = century + (1 if sex == "nu" else 0)
        while True:
            pid = f"0{province}{digit}{born.year % 100:02d}{self.rng.randint(0, 999_999):06d}"
            if pid not in self.used:
                self.used.add(pid)
                return pid

    def person(self, sex: str, born: date, surname: str | None = None,
               unit: tuple[str, str] | None = None, pid: str | None = None,
               given: str | None = None) -> Person:
        unit = unit or self.unit()
        middle = self.rng.choice(MIDDLE_MALE if sex == "nam" else MIDDLE_FEMALE)
        name = self.rng.choice(GIVEN_MALE if sex == "nam" else GIVEN_FEMALE)
        return Person(pid or self.personal_id(unit[0], sex, born),
                      surname or self.rng.choice(SURNAMES), given or f"{middle} {name}", sex,
                      born, unit)

    def birth_date(self, year_from: int, year_to: int) -> date:
        start = date(year_from, 1, 1)
        return start + timedelta(days=self.rng.randint(0, (date(year_to, 12, 31) - start).days))

    # -- households -----------------------------------------------------------------------
    def household(self, out: DemoSet, fixed: str | None = None) -> list[Person]:
        rng = self.rng
        home = self.unit()
        residence = self.address(home)
        if fixed == "father":
            head = self.person("nam", date(1985, 3, 14), "Nguyễn", ("01", "00004"),
                               DEMO_FATHER, "Văn An")
            home, residence = ("01", "00004"), {"province": "01", "commune": "00004",
                                                "detail": "Số 12, phố Hàng Bạc"}
            spouse = self.person("nu", date(1988, 9, 2), "Trần", None, None, "Thị Bình")
            children = [self.person("nam", date(2016, 6, 1), "Nguyễn", home, None, "Minh Khôi"),
                        self.person("nu", date(2021, 1, 20), "Nguyễn", home, None, "Ngọc Hân")]
            elders = [self.person("nam", date(1955, 11, 30), "Nguyễn", None, None, "Văn Cường")]
        elif fixed == "daughter":
            head = self.person("nam", date(1968, 4, 5), "Lê", ("79", "26743"), None, "Văn Hùng")
            home, residence = ("79", "26743"), {"province": "79", "commune": "26743",
                                                "detail": "Số 45, đường Lê Lợi"}
            spouse = self.person("nu", date(1971, 7, 19), "Phạm", None, None, "Thị Lan")
            children = [self.person("nu", date(1999, 8, 23), "Lê", home, DEMO_DAUGHTER,
                                    "Thị Thu Hà")]
            elders = []
        else:
            sex = rng.choice(["nam", "nu"])
            head = self.person(sex, self.birth_date(1950, 1998))
            spouse = None
            if rng.random() < 0.75:
                spouse = self.person("nu" if sex == "nam" else "nam",
                                     self.birth_date(head.birth_date.year - 5,
                                                     min(head.birth_date.year + 5, 2000)))
            father, mother = (head, spouse) if sex == "nam" else (spouse, head)
            surname = (father or head).surname
            children = []
            if spouse is not None:
                youngest = max(head.birth_date.year, spouse.birth_date.year) + 20
                for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                    if youngest > TODAY.year - 1:
                        break
                    children.append(self.person(rng.choice(["nam", "nu"]),
                                                self.birth_date(youngest, TODAY.year - 1),
                                                surname, home))
            elders = []
            if rng.random() < 0.2 and head.birth_date.year > 1965:
                elders.append(self.person("nu", self.birth_date(head.birth_date.year - 35,
                                                                head.birth_date.year - 20),
                                          None, None))
        members = [head] + ([spouse] if spouse else []) + children + elders
        father, mother = (head, spouse) if head.sex == "nam" else (spouse, head)
        for p in members:
            p.data = self.population(p, head, residence, home)
        if spouse is not None:
            head.data["spouse_personal_id"] = spouse.personal_id
            spouse.data["spouse_personal_id"] = head.personal_id
            head.data["marital_status"] = spouse.data["marital_status"] = "dang_co_vo_chong"
        for child in children:
            if father is not None:
                child.data["father_personal_id"] = father.personal_id
            if mother is not None:
                child.data["mother_personal_id"] = mother.personal_id
            child.data["relationship_to_household_head"] = "con"
        for elder in elders:
            (head.data.__setitem__("mother_personal_id", elder.personal_id) if elder.sex == "nu"
             else head.data.__setitem__("father_personal_id", elder.personal_id))
            elder.data["relationship_to_household_head"] = "me" if elder.sex == "nu" else "cha"
        if spouse is not None:
            spouse.data["relationship_to_household_head"] = "vo" if spouse.sex == "nu" else "chong"
        for p in members:
            out.add("population", p.personal_id, p.data)
            self.civil_status(out, p, spouse if p in (head, spouse) else None, head)
            self.other_registers(out, p, fixed is not None)
        if fixed == "father" or (fixed is None and rng.random() < 0.2):
            self.business(out, head, residence)
        return members

    def population(self, p: Person, head: Person, residence: dict[str, str],
                   home: tuple[str, str]) -> dict[str, Any]:
        adult = (TODAY - p.birth_date).days >= 14 * 365
        data: dict[str, Any] = {
            "personal_id": p.personal_id,
            "full_name": p.full_name,
            "surname": p.surname,
            "given_names": p.given_names,
            "birth_date": p.birth_date.isoformat(),
            "birth_year": str(p.birth_date.year),
            "sex": p.sex,
            "ethnicity": "01" if self.rng.random() < 0.85 else self.rng.choice(["02", "03", "06",
                                                                               "07", "17"]),
            "religion": "khong" if self.rng.random() < 0.8 else self.rng.choice(
                ["phat_giao", "cong_giao", "cao_dai"]),
            "nationality": "VN",
            "marital_status": "chua_ket_hon",
            "birth_registration_place": self.address(p.birth_unit, detail=False),
            "birth_registration_province": p.birth_unit[0],
            "birth_place": {"kind": "current", "province": p.birth_unit[0],
                            "commune": p.birth_unit[1]},
            "home_town": self.address(self.unit(), detail=False),
            "permanent_residence": residence,
            "current_residence": residence,
            "residence": residence,
            "id_document_type": "the_can_cuoc",
            "household_head_personal_id": head.personal_id,
            "household_head_name": head.full_name,
            "relationship_to_household_head": "chu_ho",
        }
        if adult:
            issued = max(p.birth_date + timedelta(days=14 * 365), date(2021, 1, 1)) + \
                timedelta(days=self.rng.randint(0, 900))
            data.update(
                id_card_issue_date=min(issued, TODAY).isoformat(),
                id_card_issue_place="Cục Cảnh sát quản lý hành chính về trật tự xã hội",
                id_card_expiry_date=date(min(issued, TODAY).year + 15, 12, 31).isoformat(),
                occupation=self.rng.choice(OCCUPATIONS),
                education_level=self.rng.choice(["thpt", "cao_dang", "dai_hoc", "thcs"]),
            )
        return data

    def civil_status(self, out: DemoSet, p: Person, spouse: Person | None, head: Person) -> None:
        registered = p.birth_date + timedelta(days=self.rng.randint(5, 60))
        data: dict[str, Any] = {
            "birth_registration_number": f"{self.rng.randint(1, 999)}/{registered.year}",
            "birth_registration_book": f"{(registered.month - 1) // 6 + 1:02d}/{registered.year}",
            "birth_registration_date": registered.isoformat(),
            "birth_registration_authority": f"Ủy ban nhân dân xã, phường mã {p.birth_unit[1]}",
            "marriage_count": 0,
        }
        if spouse is not None:
            married = max(head.birth_date, spouse.birth_date) + timedelta(days=365 * 22)
            married = min(married, TODAY - timedelta(days=30))
            number = f"{(int(head.personal_id[-4:]) % 97) + 1}"
            data.update(
                marriage_certificate_number=number,
                marriage_book_number=f"01/{married.year}",
                marriage_registration_date=married.isoformat(),
                marriage_registration_authority=(
                    f"Ủy ban nhân dân xã, phường mã {head.data['residence']['commune']}"),
                marriage_count=1,
            )
        out.add("civil_status", p.personal_id, data)

    def other_registers(self, out: DemoSet, p: Person, fixed: bool) -> None:
        rng = self.rng
        age = (TODAY - p.birth_date).days // 365
        if age >= 18 and (fixed or rng.random() < 0.7):
            issued = date(max(p.birth_date.year + 18, 2005), rng.randint(1, 12), rng.randint(1, 28))
            out.add("driving_licence", p.personal_id, {
                "number": f"{rng.randint(10**11, 10**12 - 1)}",
                "licence_class": rng.choice(["A1", "B", "B1"]),
                "issue_date": issued.isoformat(),
                "issued_by": "Sở Giao thông vận tải",
                "issue_place": self.province_names[p.data["residence"]["province"]],
                "training_institution": "Trường Cao đẳng nghề Giao thông vận tải",
                "training_year": issued.year,
                "revoked": False,
            })
        if fixed or rng.random() < (0.5 if age >= 14 else 0.2):
            issued = TODAY - timedelta(days=rng.randint(30, 3000))
            passport: dict[str, Any] = {
                "number": f"{'CP'[rng.randint(0, 1)]}{rng.randint(10**6, 10**7 - 1)}",
                "issue_date": issued.isoformat(),
                "expiry_date": (issued + timedelta(days=3650)).isoformat(),
                "issued_by": "Cục Quản lý xuất nhập cảnh",
            }
            before = issued - timedelta(days=3650 + self.extra.randint(0, 400))
            if before.year >= 2006 and before >= p.birth_date + timedelta(days=365) and (
                    fixed or self.extra.random() < 0.5):
                # the passport held before the latest (forms ask for it)
                passport.update(
                    previous_number=f"B{self.extra.randint(10**6, 10**7 - 1)}",
                    previous_issue_date=before.isoformat(),
                    previous_issued_by="Phòng Quản lý xuất nhập cảnh Công an tỉnh, thành phố")
            out.add("passport", p.personal_id, passport)
        if fixed or rng.random() < 0.85:
            out.add("social_insurance", p.personal_id, {
                "insurance_code": f"{rng.randint(10**9, 10**10 - 1)}",
                "health_insurance_card_number": f"GD4{rng.randint(10**11, 10**12 - 1)}",
                "registered_hospital": "Trạm y tế xã",
                "household_member_annex": False,
            })

    def business(self, out: DemoSet, owner: Person, residence: dict[str, str]) -> None:
        code = f"{self.rng.randint(10**9, 10**10 - 1)}"
        out.add("business", code, {
            "enterprise_code": code,
            "name": f"Hộ kinh doanh {owner.full_name}",
            "head_office": residence,
            "owner_name": owner.full_name,
            "owner_personal_id": owner.personal_id,
            "legal_representative_name": owner.full_name,
            "legal_representative_personal_id": owner.personal_id,
            "business_lines": self.rng.choice(BUSINESS_LINES),
            "charter_capital": self.rng.choice([50_000_000, 100_000_000, 300_000_000]),
            "registration_date": date(2018 + self.rng.randint(0, 7), 5, 10).isoformat(),
        })


    # -- the fixed families of the registers' harder cases -----------------------------------
    def fixed_families(self, out: DemoSet, father_household: list[Person]) -> None:
        """The demo father's late mother and his ward, and a mother who is not married with
        her son. Drawn from ``extra``, so the random households do not change."""
        main, self.rng = self.rng, self.extra
        try:
            self._deceased(out, father_household)
            self._ward(out)
            self._mother_alone(out)
        finally:
            self.rng = main

    def _deceased(self, out: DemoSet, father_household: list[Person]) -> None:
        an = next(p for p in father_household if p.personal_id == DEMO_FATHER)
        widower = next(p for p in father_household if p.given_names == "Văn Cường")
        her = self.person("nu", date(1958, 2, 11), "Phạm", ("01", "00008"), DEMO_DECEASED,
                          "Thị Lụa")
        last_home = {"province": "01", "commune": "00004", "detail": "Số 12, phố Hàng Bạc"}
        her.data = self.population(her, her, last_home, ("01", "00004"))
        died = date(2024, 3, 10)
        her.data.update(
            # born before the 2025 reorganisation, in a unit that no longer exists
            birth_place={"kind": "former",
                         "text": "Xã Đông Mỹ, huyện Thanh Trì, thành phố Hà Nội"},
            death_date=died.isoformat(), spouse_personal_id=widower.personal_id,
            marital_status="dang_co_vo_chong")
        widower.data.update(spouse_personal_id=her.personal_id, marital_status="goa")
        an.data["mother_personal_id"] = her.personal_id
        out.add("population", her.personal_id, her.data)
        self.civil_status(out, her, None, her)
        out.records["civil_status"][-1][1].update(
            death_registration_number=f"15/{died.year}", death_date=died.isoformat())

    def _ward(self, out: DemoSet) -> None:
        ward = self.person("nam", date(2013, 4, 9), "Nguyễn", ("01", "00008"), DEMO_WARD,
                           "Minh Tâm")
        home = {"province": "01", "commune": "00025", "detail": "Số 8, ngõ 15, phố Đội Cấn"}
        ward.data = self.population(ward, ward, home, ("01", "00025"))
        ward.data.update(
            birth_place={"kind": "abroad", "country": "JP", "detail": "Thành phố Osaka"},
            guardian_personal_id=DEMO_FATHER)
        out.add("population", ward.personal_id, ward.data)
        self.civil_status(out, ward, None, ward)
        self.other_registers(out, ward, True)

    def _mother_alone(self, out: DemoSet) -> None:
        home_unit = ("48", "20197")
        home = {"province": "48", "commune": "20197", "detail": "Số 21, đường Âu Cơ"}
        mother = self.person("nu", date(1996, 10, 5), "Đỗ", ("48", "20195"), DEMO_MOTHER,
                             "Thị Mai")
        son = self.person("nam", date(2022, 7, 15), "Đỗ", home_unit, DEMO_CHILD_OUT_OF_WEDLOCK,
                          "Gia Bảo")
        for p in (mother, son):
            p.data = self.population(p, mother, home, home_unit)
        son.data.update(mother_personal_id=mother.personal_id,
                        relationship_to_household_head="con")
        for p in (mother, son):
            out.add("population", p.personal_id, p.data)
            self.civil_status(out, p, None, mother)
            self.other_registers(out, p, True)


def generate(households: int, seed: int = 2026) -> DemoSet:
    """The two named demo households, then ``households - 2`` random ones, then the fixed
    families of the registers' harder cases (``Generator.fixed_families``)."""
    gen = Generator(seed)
    out = DemoSet()
    father_household = gen.household(out, "father")
    gen.household(out, "daughter")
    for _ in range(max(0, households - 2)):
        gen.household(out)
    gen.fixed_families(out, father_household)
    return out


def rows(demo: DemoSet) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for register, items in demo.records.items():
        for subject, data in items:
            yield register, subject, data
